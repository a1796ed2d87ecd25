// Names what did not run. Jest's summary only counts skipped tests ("3 skipped"), so a suite that
// skipped itself (a missing peer outside CI, a stray .skip) passes unseen. After the run this
// prints one line per skipped block or test, with its file and title; nothing when none skipped.
const { relative } = require('node:path');

const SKIPPED = new Set(['pending', 'skipped', 'todo', 'disabled']);

/**
 * One entry per skipped unit of a file: the outermost describe block whose tests were all skipped,
 * else the test itself; a file with every test skipped is one entry.
 * @param {{ title: string, ancestorTitles: string[], status: string }[]} tests
 * @returns {{ title: string, count: number }[]}
 */
function skippedUnits(tests) {
  const allSkipped = (prefix) =>
    tests.every((t) => !startsWith(t.ancestorTitles, prefix) || SKIPPED.has(t.status));
  const units = new Map();
  for (const t of tests) {
    if (!SKIPPED.has(t.status)) continue;
    // depth 0 is the file itself, then each enclosing describe block, outermost first.
    let depth = 0;
    while (depth <= t.ancestorTitles.length && !allSkipped(t.ancestorTitles.slice(0, depth))) depth++;
    const path = depth <= t.ancestorTitles.length ? t.ancestorTitles.slice(0, depth) : [...t.ancestorTitles, t.title];
    const key = JSON.stringify(path);
    const unit = units.get(key) ?? { title: path.join(' › '), count: 0 };
    unit.count++;
    units.set(key, unit);
  }
  return [...units.values()];
}

function startsWith(titles, prefix) {
  return prefix.every((p, i) => titles[i] === p);
}

/** The lines for a whole run (AggregatedResult), rootDir-relative. */
function skippedLines(results, rootDir) {
  const lines = [];
  for (const file of results.testResults) {
    const name = relative(rootDir, file.testFilePath);
    for (const unit of skippedUnits(file.testResults)) {
      const what = unit.title ? `${name} › ${unit.title}` : `${name} (whole file)`;
      lines.push(`skipped: ${what}${unit.count > 1 ? ` (${unit.count} tests)` : ''}`);
    }
  }
  return lines;
}

class SkippedReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const lines = skippedLines(results, this.rootDir);
    if (lines.length > 0) process.stderr.write(`\n${lines.join('\n')}\n\n`);
  }
}

module.exports = SkippedReporter;
module.exports.skippedLines = skippedLines;

// Every temporary file the tests (and the processes they start) make goes under one directory,
// removed at the end: os.tmpdir() follows $TMPDIR.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  const root = mkdtempSync(join(tmpdir(), 'linkgate-tests-'));
  process.env.LINKGATE_TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
};

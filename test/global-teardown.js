const { rmSync } = require('node:fs');

module.exports = async () => {
  const root = process.env.LINKGATE_TEST_TMP_ROOT;
  if (root) rmSync(root, { recursive: true, force: true });
};

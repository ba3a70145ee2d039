'use strict'
// Mocha adds the files named on the command line to a configured `spec` instead of replacing it,
// so with a fixed spec `npx mocha dist/test/16.tolist.test.js` silently ran the whole suite.
// The full suite is the default only when no test file is named.
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && arg.endsWith('.test.js'))

module.exports = {
  spec: named ? [] : ['dist/test/**/*.test.js'],
  timeout: 60000,
  reporter: 'test/support/summary-reporter.js',
}

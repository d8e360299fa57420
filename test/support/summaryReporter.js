/**
 * Prints one plain closing line ("tests: N passed, N failed, N skipped") after jest's own
 * summary, so CI logs state the count in a runner-neutral form, then the name of every skipped
 * test: a skip says why in its name, and a reader of the log must see it without --verbose.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status === 'pending' || test.status === 'todo') process.stdout.write(`skipped: ${test.fullName}\n`);
      }
    }
  }
}
module.exports = SummaryReporter;

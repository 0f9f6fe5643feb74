// Nanoseconds per `await fs.promises.readFile(FILE)` over COUNT sequential reads (for make bench).
'use strict';
const fs = require('fs');

async function main() {
  const [file, countText] = process.argv.slice(2);
  const count = Number(countText);
  for (let i = 0; i < 200; i++) await fs.promises.readFile(file);  // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fs.promises.readFile(file);
  console.log(Number(process.hrtime.bigint() - start) / count);
}

main();

// async_burst — concurrent asynchronous fs requests for the async-stacks tests.
//   node async_burst.js pair DIR COUNT      COUNT requests on DIR/alpha (from readAlpha) and COUNT on
//                                           DIR/beta (from readBeta), all in flight at once
//   node async_burst.js existing FILE COUNT COUNT concurrent reads of FILE (which exists)
'use strict';
const fs = require('fs');

async function readAlpha(dir) {
  try { await fs.promises.readFile(`${dir}/alpha`); } catch (error) { return error.code; }
}

async function readBeta(dir) {
  try { await fs.promises.readFile(`${dir}/beta`); } catch (error) { return error.code; }
}

async function readExisting(file) {
  return (await fs.promises.readFile(file)).length;
}

async function main() {
  const [mode, target, countText] = process.argv.slice(2);
  const count = Number(countText);
  const requests = [];
  for (let i = 0; i < count; i++) {
    if (mode === 'pair') requests.push(readAlpha(target), readBeta(target));
    else requests.push(readExisting(target));
  }
  const results = await Promise.all(requests);
  console.log(JSON.stringify({ done: results.length }));
}

main();

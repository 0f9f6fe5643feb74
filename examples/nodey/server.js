// nodey — the lab's Node.js app: its About page reads /etc/nodey.conf deep in a few named
// functions, swallows the error and answers "An error occurred". Node's standard library only.
'use strict';
const fs = require('fs');
const http = require('http');

const CONFIG_PATH = process.env.NODEY_CONFIG || '/etc/nodey.conf';

function loadConfig() {
  return JSON.parse(fs.readFileSync(CONFIG_PATH, 'utf8'));
}

function aboutText() {
  const config = loadConfig();
  return `nodey ${config.version} — ${config.motto}\n`;
}

function handleAbout(response) {
  let status = 200;
  let body;
  try {
    body = aboutText();
  } catch (error) {
    // The bug the lab hunts: the ENOENT is swallowed and the client learns nothing.
    status = 500;
    body = 'An error occurred\n';
  }
  response.writeHead(status, { 'Content-Type': 'text/plain' });
  response.end(body);
}

// The same bug, asynchronously: the open runs on a libuv pool thread, whose stack holds no JavaScript.
async function loadConfigAsync() {
  return JSON.parse(await fs.promises.readFile(CONFIG_PATH, 'utf8'));
}

async function aboutTextAsync() {
  const config = await loadConfigAsync();
  return `nodey ${config.version} — ${config.motto}\n`;
}

async function handleAboutAsync(response) {
  let status = 200;
  let body;
  try {
    body = await aboutTextAsync();
  } catch (error) {
    status = 500;
    body = 'An error occurred\n';
  }
  response.writeHead(status, { 'Content-Type': 'text/plain' });
  response.end(body);
}

const server = http.createServer((request, response) => {
  if (request.url === '/about') return handleAbout(response);
  if (request.url === '/about-async') return handleAboutAsync(response);
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.end('Welcome to nodey. Try /about and /about-async\n');
});

const port = Number(process.env.PORT || 3000);
server.listen(port, '127.0.0.1', () => {
  console.log(`nodey listening on 127.0.0.1:${server.address().port}`);
});

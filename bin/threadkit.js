#!/usr/bin/env node
// The `threadkit` command. Plain JavaScript so that it runs on any Node >= 22 from the built package.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(`threadkit needs Node.js 22 or newer; this is ${process.version}. In this repository, run it with the pinned Node: npx threadkit …`);
  process.exit(2);
}
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The `threadkit` command. Plain JavaScript so that it runs on any Node >= 22 from the built package.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
import { main } from './main.js';

// Exit through process.exitCode, not process.exit(), so stdout (the summary) drains first.
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
console.log('lakebase-kernel', process.argv.slice(2).join(' '));

// The user's worker: bbm's built-in work functions plus theirs. Ctrl-C or SIGTERM drains it.
'use strict';
const { runWorker } = require('bbm');

runWorker({ workFunctions: require('./work.js') }).catch((err) => {
  console.error(`error[${err.code ?? 'UNEXPECTED'}]: ${err.message}`);
  process.exit(1);
});

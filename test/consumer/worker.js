// The user's worker: bbm's built-in work functions plus theirs, and a health indicator of their
// own. Ctrl-C or SIGTERM drains it.
'use strict';
const fs = require('node:fs');
const { runWorker } = require('bbm');

/** @type {import('bbm').HealthIndicator} */
const probe = {
  name: 'consumer_probe',
  unit: 'connections',
  description: 'backends connected to this database; never trips (threshold null)',
  threshold: null,
  async read({ db }) {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()');
    // The package test reads this file to see that the worker checked the indicator.
    fs.appendFileSync('indicator-reads.txt', `${rows[0].n}\n`);
    return rows[0].n;
  },
};

runWorker({ workFunctions: require('./work.js'), healthIndicators: [probe] }).catch((err) => {
  console.error(`error[${err.code ?? 'UNEXPECTED'}]: ${err.message}`);
  process.exit(1);
});

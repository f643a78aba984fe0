// Start a repository's workflow and wait for it with the library client; prints the summary as JSON.
'use strict';
const { BbmClient } = require('bbm');

async function main(repository) {
  const client = new BbmClient();
  try {
    await client.start(repository, { knobs: { minDelayMs: 0, maxDelayMs: 0 } });
    const summary = await client.wait(repository);
    console.log(JSON.stringify({ state: summary.state, migrations: summary.migrations.map((m) => [m.name, m.status]) }));
  } finally {
    await client.close();
  }
}

main(process.argv[2]).catch((err) => {
  console.error(`error[${err.code ?? 'UNEXPECTED'}]: ${err.message}`);
  process.exit(1);
});

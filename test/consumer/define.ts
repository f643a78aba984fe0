// Define a migration with the library client (the API equivalent of `bbm migrations create`),
// then start its repository and wait for the end. Usage: tsx define.ts NAME REPOSITORY TABLE VALUE
import { BbmClient, type MigrationInfo, type RepositorySummary } from 'bbm';
import work from './work';

async function main(name: string, repository: string, table: string, value: string): Promise<void> {
  const client = new BbmClient({ workFunctions: work });
  try {
    const row: MigrationInfo = await client.define({
      name,
      repository,
      work: 'stamp_ts',
      table,
      column: 'id',
      batchSize: 50,
      args: { value },
    });
    await client.start(row.repository, { knobs: { minDelayMs: 0, maxDelayMs: 0 } });
    const summary: RepositorySummary = await client.wait(row.repository);
    console.log(JSON.stringify({ state: summary.state, migrations: summary.migrations.map((m) => [m.name, m.status]) }));
  } finally {
    await client.close();
  }
}

const [name, repository, table, value] = process.argv.slice(2) as [string, string, string, string];
main(name, repository, table, value).catch((err: unknown) => {
  console.error(`error[${(err as { code?: string }).code ?? 'UNEXPECTED'}]: ${(err as Error).message}`);
  process.exit(1);
});

// The `lbmeter` command. Every command reads the same configuration as `serve` and may run while
// `serve` runs on the same store. Bad arguments: one line on stderr, exit code 2.

import { existsSync } from 'node:fs';
import cluster from 'node:cluster';
import { VERSION, buildCommit } from '../version.ts';
import { Command, CommanderError, Option } from 'commander';
import { config, ids, isoTime, NotFound, positiveInt, printRows, recordNames, UsageError, withStore } from './common.ts';
import { inventoryCommands } from './inventory.ts';
import { unknownSettings, ConfigError } from '../config.ts';
import { openStore } from '../store/store.ts';
import { dialectFor, engineOf } from '../store/dialect/index.ts';
import { createToken, listTokens, revokeToken, ROLES, type Role } from '../store/tokens.ts';
import { runRollup } from '../jobs/rollup.ts';
import { pollHosts } from '../ingest/poller.ts';
import { purgeExpired, retentionRule } from '../jobs/retention.ts';
import { compactReadings } from '../jobs/compaction.ts';
import { listAnomalies, type AnomalyStatus } from '../store/anomalies.ts';
import { discardAnomaly, releaseAnomaly } from '../usage/corrections.ts';
import { listDeadLetters, replayDeadLetters } from '../store/exports.ts';
import { configuredSink } from '../export/sinks.ts';
import { usageEventId } from '../export/cloudEvents.ts';
import { runExport } from '../jobs/export.ts';
import { terminalProgress } from './progress.ts';
import { formatReport, usageReport, type ReportFormat } from './report.ts';
import { DAY_MS, utcPrinter } from '../domain/time.ts';
import { serveCommand } from './serveCommand.ts';
import { migrate } from '../store/migrations/index.ts';
import { checkStoreFile, restoreSqliteStore } from '../store/restore.ts';
import { createLogger } from '../logging.ts';
import { describeTransfers } from '../domain/types.ts';
import { recordSources } from '../query/recordSources.ts';
import { reconcile } from '../query/reconciliation.ts';
import { recordSourcesView, reconciliationView } from '../api/views.ts';
import { formatReconciliation, formatRecordSources } from './audit.ts';
import { exactJson } from '../domain/exactJson.ts';

export function buildProgram(): Command {
  const program = new Command('lbmeter')
    .description('Usage metering and billing reports for load-balancer-as-a-service fleets')
    // The commit is looked up only when asked for (in a checkout it costs two git runs).
    .option('-V, --version', 'print the version of lbmeter and the commit it was built from')
    .on('option:version', () => {
      process.stdout.write(`${VERSION} (commit ${buildCommit()})\n`);
      throw new CommanderError(0, 'commander.version', '');
    })
    .option('--env-file <file>', "read settings from this file first (KEY=VALUE lines, the systemd units' EnvironmentFile); repeatable; a variable already set wins", (file: string, files: string[] = []) => [...files, file])
    .showHelpAfterError(false)
    .exitOverride()
    // Commander's own errors read like ours: one line, `lbmeter: ` first.
    .configureOutput({ outputError: (text, write) => write(text.split('\n')[0]!.replace(/^error: /, 'lbmeter: ') + '\n') })
    .hook('preAction', () => {
      for (const file of (program.opts().envFile as string[] | undefined) ?? []) {
        if (!existsSync(file)) throw new UsageError(`--env-file: no file ${file}`);
        process.loadEnvFile(file);
      }
      // Once, by the process the operator started (not again by each API worker).
      if (!cluster.isWorker) for (const warning of unknownSettings(process.env)) process.stderr.write(`lbmeter: warning: ${warning}\n`);
    });

  program.command('serve')
    .description('Run the API and the scheduled jobs (rollup) in one process')
    .option('--demo', 'also run a simulated fleet that feeds the same ingest path')
    .option('--no-api', 'do not serve HTTP')
    .option('--no-poller', 'do not poll HAProxy hosts')
    .option('--no-jobs', 'do not run scheduled jobs')
    .addHelpText('after', '\nExamples:\n  lbmeter serve --demo\n  LBMETER_DB=postgres://postgres@127.0.0.1/lbmeter lbmeter serve --no-jobs\n  LBMETER_WORKERS=2 lbmeter serve   # the API on two cores')
    .action(async (opts: { demo?: boolean; api: boolean; poller: boolean; jobs: boolean }) => {
      const c = config();
      await serveCommand(c, createLogger(c.logLevel), { api: opts.api, poller: opts.poller, jobs: opts.jobs, demo: !!opts.demo, jobIntervalMs: opts.demo ? 10_000 : undefined });
    });

  program.command('migrate')
    .description('Create or upgrade the store schema (serve also does this at start)')
    .addHelpText('after', '\nExamples:\n  lbmeter migrate\n  LBMETER_DB=postgres://postgres@127.0.0.1/lbmeter lbmeter migrate')
    .action(async () => {
      const c = config();
      const store = await openStore(c.db, { migrate: false });
      try {
        const applied = await migrate(store.db);
        const where = `store ${store.engine} at ${c.db.startsWith('postgres') ? 'postgres' : c.db}`;
        console.log(applied.length ? `applied ${applied.join(', ')}: ${where} is up to date` : `${where} is up to date: nothing to apply`);
      } finally {
        await store.close();
      }
    });

  program.command('poll')
    .description('Poll HAProxy hosts now and store their counters')
    .option('--once', 'poll every host once and exit (the default; the scheduled poller runs in serve)')
    .option('--host <id...>', 'only these hosts, read now even if a poller is reading them', ids)
    .option('--pre-reload <id...>', 'the same as --host: run it right before a reload so no counted byte is lost', ids)
    .option('--json', 'one JSON array of the hosts\' reports instead of lines')
    .addHelpText('after', '\nExamples:\n  lbmeter poll --once\n  lbmeter poll --pre-reload 3 && systemctl reload haproxy')
    .action((opts: { host?: number[]; preReload?: number[]; json?: boolean }) => withStore(async (store, c) => {
      const named = opts.host || opts.preReload ? [...(opts.host ?? []), ...(opts.preReload ?? [])] : undefined;
      const reports = await pollHosts(store, { timeoutMs: c.pollTimeoutMs, deltaCeiling: c.deltaCeiling, hostIds: named, waitForBusyHosts: !!named });
      if (named) {
        const known = new Set(reports.map((r) => r.hostId));
        const missing = named.filter((h) => !known.has(h));
        if (missing.length) throw new UsageError(`no host with a stats source: ${missing.join(', ')}`);
      }
      printRows(reports, opts.json, (r) => [r.hostId, r.name, r.ok && r.busy ? 'left to the process reading it now' : r.ok ? `ok ${r.loadBalancers} load balancers` : `FAILED ${r.error}`, `${r.durationMs} ms`]);
      if (reports.some((r) => !r.ok)) process.exitCode = 1;
    }));

  program.command('rollup')
    .description('Close every hour that has ended (hourly usage records, daily account snapshots)')
    .addHelpText('after', '\nExamples:\n  lbmeter rollup\n  LBMETER_GRACE=0 lbmeter rollup   # close every ended hour at once')
    .action(() => withStore(async (store, c) => {
      // Waits for a rollup running elsewhere, then closes whatever it left.
      const progress = terminalProgress('hours rolled');
      const r = await runRollup(store, { graceMs: c.graceMs, waitMs: 5 * 60_000, onProgress: progress.update });
      progress.done();
      if (r.busy) throw new Error('another process has been rolling up for 5 minutes; try again later');
      console.log(`rolled ${r.hoursRolled} hours (${r.hoursFinalized} final), ${r.records} records`);
    }));

  program.command('compact')
    .description('Compact raw readings into hourly rows once their hours have been final for LBMETER_READINGS_DAYS')
    .addHelpText('after', '\nExamples:\n  lbmeter compact\n  LBMETER_READINGS_DAYS=2 lbmeter compact')
    .action(() => withStore(async (store, c) => {
      const r = await compactReadings(store, c.readingsDays, { waitMs: 60_000 });
      if (r.busy) throw new Error('another process is compacting; try again later');
      for (const d of r.days) console.log(`${new Date(d.dayMs).toISOString().slice(0, 10)}\t${d.rowsBefore} readings\t-> ${d.rowsAfter} rows`);
      console.log(`compacted ${r.days.length} days (raw readings are kept ${c.readingsDays} days after their hour is final)`);
    }));

  program.command('backup')
    .description('Copy the embedded SQLite store into a new file, consistent even while serve writes to it')
    .argument('<file>', 'the copy: a new file (an existing one is never overwritten)')
    .option('--verify', "check the copy whole: SQLite's integrity check and its migrations (reads the whole copy)")
    .addHelpText('after', '\nExamples:\n  lbmeter backup --verify /var/backups/lbmeter-$(date +%F).db\n  LBMETER_DB=/var/lib/lbmeter/lbmeter.db lbmeter backup copy.db\n\nPostgreSQL stores are backed up with pg_dump (docs/operations.md).')
    .action((file: string, opts: { verify?: boolean }) => withStore(async (store) => {
      const dialect = dialectFor(store.engine);
      if (!dialect.backup) throw new UsageError(`the store is ${store.engine}: back it up with its own tools (pg_dump; see docs/operations.md)`);
      if (existsSync(file)) throw new UsageError(`${file} exists: give a new file`);
      const { pages } = await dialect.backup(store.connection, file);
      if (opts.verify) {
        const check = checkStoreFile(file);
        console.log(`backed up ${pages} pages to ${file} (${check.records} usage records); verified: integrity ok, ${check.migrations.length} migrations up to ${check.migrations.at(-1)}`);
        return;
      }
      const copy = await openStore(file, { migrate: false });
      try {
        const records = await copy.db.selectFrom('usage_records').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
        console.log(`backed up ${pages} pages to ${file} (${records.n} usage records)`);
      } finally {
        await copy.close();
      }
    }));

  program.command('restore')
    .description('Put a backup in place as the embedded SQLite store (stop every lbmeter process on the store first)')
    .argument('<file>', 'a copy made by lbmeter backup')
    .addHelpText('after', '\nExamples:\n  LBMETER_DB=/var/lib/lbmeter/lbmeter.db lbmeter restore /var/backups/lbmeter/lbmeter-2026-11-29.db\n\nStop every lbmeter process on the store first. The store in place is set aside as\n<store>.replaced-<time>, never deleted; the copy is checked before and after (SQLite integrity,\nknown migrations). PostgreSQL stores are restored with pg_restore (docs/operations.md).')
    .action((file: string) => {
      const c = config();
      if (engineOf(c.db) !== 'sqlite' || c.db === ':memory:') {
        throw new UsageError('the store is postgres: restore it with pg_restore into an empty database, then point LBMETER_DB at it (docs/operations.md, Backup and restore)');
      }
      const r = restoreSqliteStore(file, c.db);
      console.log(`restored ${file} to ${c.db}: integrity ok, ${r.records} usage records, ${r.migrations.length} migrations (serve applies any newer ones at start)`);
      if (r.setAside) console.log(`the store that was there is kept at ${r.setAside}`);
    });

  program.command('purge')
    .description('Delete usage older than the retention period (with a billing sink, never a record not exported yet)')
    .addHelpText('after', '\nExamples:\n  lbmeter purge\n  LBMETER_RETENTION_DAYS=400 lbmeter purge')
    .action(() => withStore(async (store, c) => {
      const r = await purgeExpired(store, Date.now() - c.retentionDays * DAY_MS, { waitMs: 60_000, exportSink: !!c.export.url });
      if (r.busy) throw new Error('another process is purging; try again later');
      console.log(`purged ${r.records} usage records, ${r.snapshots} account snapshots and ${r.samples} samples (${retentionRule(c.retentionDays, !!c.export.url)})`);
    }));

  const exporting = program.command('export').description('Hand closed usage records to the billing sink (LBMETER_EXPORT_URL)');
  exporting.command('run', { isDefault: true })
    .description('Export every final record not exported yet, until the backlog is empty or the sink refuses')
    .addHelpText('after', '\nExamples:\n  LBMETER_EXPORT_URL=https://billing.example.com/usage lbmeter export\n  lbmeter export run | tee export.log   # no progress line when piped')
    .action(() => withStore(async (store, c) => {
      const sink = configuredSink(c.export);
      if (!sink) throw new UsageError('no billing sink: set LBMETER_EXPORT_URL');
      const progress = terminalProgress('exported');
      const r = await runExport(store, sink, { ...c.export, waitMs: 60_000, onProgress: progress.update }).finally(() => sink.close?.());
      progress.done();
      if (r.busy) throw new Error('another process is exporting; try again later');
      console.log(`exported ${r.delivered} records, ${r.duplicates} the sink had already; ${r.failed} failed, ${r.deadLettered} now dead letters`);
      if (r.stoppedBy) {
        process.stderr.write(`lbmeter: export stopped: ${r.stoppedBy}\n`);
        process.exitCode = 1;
      }
    }));
  exporting.command('dead-letters')
    .description('List records the sink refused for good or too often (they are never purged)')
    .option('--json', 'one JSON array instead of lines (bytes as exact integers)')
    .addHelpText('after', '\nExamples:\n  lbmeter export dead-letters\n  lbmeter export dead-letters --json')
    .action((opts: { json?: boolean }) => withStore(async (store) => {
      printRows(await listDeadLetters(store.db), opts.json,
        ({ record: r, attempts, lastError }) => [`${r.loadBalancerId}/${r.id}`, usageEventId(r), `account=${r.accountId}`, `lb=${r.loadBalancerId}`, new Date(r.startMs).toISOString(), `attempts=${attempts}`, lastError],
        (d) => ({ name: `${d.record.loadBalancerId}/${d.record.id}`, eventId: usageEventId(d.record), ...d }));
    }));
  exporting.command('replay')
    .description('Put dead letters back in line for the next export')
    .argument('[record...]', 'records to replay as LOADBALANCER/ID, the first column of dead-letters (a record id is unique within its load balancer)', recordNames)
    .option('--all', 'every dead letter')
    .addHelpText('after', '\nExamples:\n  lbmeter export replay --all\n  lbmeter export replay 33/119003281 33/119003282')
    .action((records: { loadBalancerId: number; id: number }[] | undefined, opts: { all?: boolean }) => withStore(async (store) => {
      const given = records ?? [];
      if (!opts.all && given.length === 0) throw new UsageError('give records (LOADBALANCER/ID) or --all');
      if (opts.all && given.length > 0) throw new UsageError('give records or --all, not both');
      const n = await replayDeadLetters(store.db, opts.all ? undefined : given);
      console.log(`${n} dead letters back in line for export`);
    }));

  const report = program.command('report').description('Reports for billing and support');
  report.command('usage')
    .description('One account\'s usage per load balancer: records starting in the window, summed')
    .requiredOption('--account <id>', 'the account', positiveInt)
    .requiredOption('--from <time>', 'start of the window, ISO-8601 (no zone: UTC)', isoTime)
    .requiredOption('--to <time>', 'end of the window, ISO-8601 (no zone: UTC)', isoTime)
    .addOption(new Option('--format <format>', 'table for people, csv or json for scripts').choices(['table', 'csv', 'json']).default('table'))
    .addHelpText('after', '\nExamples:\n  lbmeter report usage --account 406271 --from 2026-11-01 --to 2026-12-01\n  lbmeter report usage --account 406271 --from 2026-11-01 --to 2026-11-02 --format csv > usage.csv')
    .action((opts: { account: number; from: number; to: number; format: ReportFormat }) => withStore(async (store) => {
      if (opts.from > opts.to) throw new UsageError('--from must not be after --to');
      const rows = await usageReport(store, opts.account, opts.from, opts.to);
      const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
      process.stdout.write(formatReport(rows, opts.format, { accountId: opts.account, from: iso(opts.from), to: iso(opts.to) }));
    }));

  const audit = program.command('audit').description('Trace billed bytes back to the readings and events that made them');
  audit.command('record')
    .argument('<record...>', 'usage records as LOADBALANCER/ID (a record id is unique within its load balancer; the API shows both)', recordNames)
    .description('The readings (per host: counters, delta, and why it billed what it did), events and anomalies behind usage records; exits 1 if a record differs from its readings')
    .addOption(new Option('--format <format>', 'text for people, json for scripts (one document a line)').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExamples:\n  lbmeter audit record 33/119003281\n  lbmeter audit record 33/119003281 33/119003282 --format json')
    .action((records: { loadBalancerId: number; id: number }[], opts: { format: 'text' | 'json' }) => withStore(async (store) => {
      const missing: string[] = [];
      for (const { loadBalancerId, id } of records) {
        const sources = await recordSources(store.db, loadBalancerId, id);
        if (!sources) {
          missing.push(`${loadBalancerId}/${id}`);
          continue;
        }
        process.stdout.write(opts.format === 'json' ? exactJson(recordSourcesView(sources, utcPrinter())) + '\n' : formatRecordSources(sources) + (records.length > 1 ? '\n' : ''));
        if (!sources.matches) process.exitCode = 1;
      }
      if (missing.length) throw new NotFound(`no usage record ${missing.join(', ')}`);
    }));
  audit.command('reconcile')
    .description('Per load balancer over the final hours of the window: bytes in records + held + discarded = bytes of the deltas taken; exits 1 on any difference')
    .requiredOption('--from <time>', 'start of the window, ISO-8601 (no zone: UTC)', isoTime)
    .requiredOption('--to <time>', 'end of the window, ISO-8601 (no zone: UTC)', isoTime)
    .addOption(new Option('--format <format>', 'text for people, json for scripts').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExamples:\n  lbmeter audit reconcile --from 2026-11-22 --to 2026-11-23\n  lbmeter audit reconcile --from 2026-11-22T10:00 --to 2026-11-22T11:00 --format json')
    .action((opts: { from: number; to: number; format: 'text' | 'json' }) => withStore(async (store) => {
      if (opts.from > opts.to) throw new UsageError('--from must not be after --to');
      const r = await reconcile(store.db, opts.from, opts.to);
      process.stdout.write(opts.format === 'json' ? exactJson(reconciliationView(r, utcPrinter())) + '\n' : formatReconciliation(r));
      if (r.differences.length) process.exitCode = 1;
    }));

  const anomalies = program.command('anomalies').description('Data held back from billing for an operator to decide on');
  anomalies.command('list')
    .description('List anomalies (default: those still held)')
    .addOption(new Option('--status <status>', 'which to list').choices(['HELD', 'RELEASED', 'DISCARDED', 'ALL']).default('HELD'))
    .option('--json', 'one JSON array instead of lines (bytes as exact integers)')
    .addHelpText('after', '\nExamples:\n  lbmeter anomalies list\n  lbmeter anomalies list --status ALL --json')
    .action((opts: { status: AnomalyStatus | 'ALL'; json?: boolean }) => withStore(async (store) => {
      printRows(await listAnomalies(store.db, opts.status === 'ALL' ? undefined : opts.status), opts.json,
        (a) => [a.id, a.status, a.kind, new Date(a.timeMs).toISOString(), `lb=${a.loadBalancerId ?? '-'}`, `host=${a.hostId ?? '-'}`, a.held ? describeTransfers(a.held) : '-', a.detail],
        (a) => ({ ...a, time: new Date(a.timeMs).toISOString() }));
    }));
  for (const decision of ['release', 'discard'] as const) {
    anomalies.command(decision)
      .argument('<id>', 'anomaly id (see `anomalies list`)', positiveInt)
      .description(decision === 'release'
        ? 'Apply held data as if it had come on time (a final record it changes is exported again as a new revision)'
        : 'Leave held data unbilled, recording the decision')
      .addHelpText('after', `\nExamples:\n  lbmeter anomalies ${decision} 17`)
      .action((id: number) => withStore(async (store) => {
        const { anomaly: a, revised } = decision === 'release' ? await releaseAnomaly(store, id) : await discardAnomaly(store, id);
        createLogger(config().logLevel).info({ anomaly: a.id, kind: a.kind, decision: a.status, revisedRecords: revised }, `anomaly ${decision}d`);
        console.log(`anomaly ${a.id} ${a.status.toLowerCase()}${revised ? ` (${revised} final record${revised > 1 ? 's' : ''} revised, to be exported again)` : ''}`);
      }));
  }

  inventoryCommands(program);

  const token = program.command('token').description('Manage API tokens');
  token.command('create')
    .description('Create a token and print it alone on standard output (shown once, stored hashed)')
    .addOption(new Option('--role <role...>', 'management role(s)').choices([...ROLES]))
    .option('--account <id>', 'a tenant token for this account instead of management roles', positiveInt)
    .option('--expires <time>', 'expiry, ISO-8601', isoTime)
    .option('--label <text>', 'a note for `token list`')
    .addHelpText('after', '\nExamples:\n  lbmeter token create --role support\n  lbmeter token create --role billing --expires 2027-01-01\n  lbmeter token create --account 406271')
    .action((opts: { role?: Role[]; account?: number; expires?: number; label?: string }) => withStore(async (store) => {
      if (opts.role && opts.account !== undefined) throw new UsageError('give either --role (management token) or --account (tenant token), not both');
      if (!opts.role && opts.account === undefined) throw new UsageError('give --role support|service-admin|billing or --account N');
      // A token born expired is a mistake (a year typed wrong): refused, not created dead.
      if (opts.expires !== undefined && opts.expires <= Date.now()) throw new UsageError(`--expires ${new Date(opts.expires).toISOString()} is in the past`);
      const { value } = await createToken(store.db, { roles: opts.role ?? [], accountId: opts.account, expiresMs: opts.expires, label: opts.label });
      process.stdout.write(value + '\n');
    }));
  token.command('list')
    .description('List tokens (never their values)')
    .option('--json', 'one JSON array instead of lines')
    .addHelpText('after', '\nExamples:\n  lbmeter token list\n  lbmeter token list --json')
    .action((opts: { json?: boolean }) => withStore(async (store) => {
      const now = Date.now();
      const stateOf = (t: { revokedMs?: number; expiresMs?: number }) => (t.revokedMs !== undefined ? 'revoked' : t.expiresMs !== undefined && t.expiresMs <= now ? 'expired' : 'active');
      printRows(await listTokens(store.db), opts.json, (t) => {
        const who = t.roles.length ? `roles=${t.roles.join(',')}` : `account=${t.accountId}`;
        const expires = t.expiresMs !== undefined ? ` expires=${new Date(t.expiresMs).toISOString()}` : '';
        return [t.id, stateOf(t), `${who}${expires}`, t.label];
      }, (t) => ({ ...t, state: stateOf(t) }));
    }));
  token.command('revoke')
    .description('Revoke a token by id (see `token list`)')
    .argument('<id>', 'token id', positiveInt)
    .addHelpText('after', '\nExamples:\n  lbmeter token revoke 3')
    .action((id: number) => withStore(async (store) => {
      if (!(await revokeToken(store.db, id))) throw new UsageError(`no active token with id ${id}`);
      console.log(`token ${id} revoked`);
    }));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (lbmeter anomalies list | head) closes the pipe: that is the end of
  // the output, not an error to crash on.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
      return;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`lbmeter: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`lbmeter: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

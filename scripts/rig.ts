/**
 * `scripts/rig`: the self-forming test rig on the command line (root only). See scripts/rig-lib/rig.ts for what it
 * builds and `scripts/rig help` for the commands.
 */
import { parseArgs } from 'node:util';
import { renderTable } from '../src/cli/table.ts';
import { DEFAULT_RIG_DIR, Rig, type HostStatus } from './rig-lib/rig.ts';
import { namespaceSupport } from './rig-lib/namespaces.ts';
import {
  RIG_BROADCAST_ADDRESS,
  RIG_GOSSIP_PORT,
  RIG_HTTP_PORT,
  RIG_MESH_PORT,
  RIG_MULTICAST_GROUP,
  RIG_SUBNET,
  type GossipMode,
} from './rig-lib/topology.ts';

const USAGE = `usage: scripts/rig [--dir DIR] COMMAND …   (as root: it creates network namespaces)

  up N [--gateways M] [--broadcast|--multicast] [--env KEY=VALUE]… [--loss PCT [--udp]] [--timeout-ms MS] [--keep]
                      N hosts on a bridge of their own, the last M pure gateway nodes, the others store nodes
                      (store-I on host I); waits until the cluster has formed. Broadcast gossip unless --multicast.
                      --env sets a node option on every node (e.g. GATER_GOSSIP_INTERVAL_MS=250); --loss starts
                      every host lossy (see loss); --keep leaves a rig that failed to form in place for a look
  status [--json]     every host: its node, the peers it sees, its registry, its link and loss
  kill I [--signal S] kills host I's node (SIGKILL unless told), by PID; SIGSTOP/SIGCONT pause and resume it
  start I             starts host I's node again (same data and identity) and waits until it rejoined
  partition I         takes host I's link down: its node runs on, alone
  heal I              brings host I's link back up
  loss I PCT [--udp]  drops PCT % of the packets host I receives, at random (only UDP, i.e. gossip, with --udp);
                      0 stops it
  add [--gateway] [--secret S]
                      one more host; with --secret a wrong one, an intruder
  exec I CMD [ARG…]   runs CMD inside host I's namespace, e.g. exec 1 curl -s localhost:${RIG_HTTP_PORT}/v1/cluster
  logs I [--lines N]  the last lines of host I's node log
  down                kills every process of the rig, deletes its namespaces and files (also after a crash)

  --dir DIR           where the rig keeps its state, node data and logs (default $GATER_RIG_DIR or ${DEFAULT_RIG_DIR})
`;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

function hostIndex(text: string | undefined): number {
  const index = Number(text);
  if (text === undefined || !Number.isInteger(index) || index < 1) throw new UsageError(`expected a host number (1, 2, …), got ${text ?? 'nothing'}`);
  return index;
}

function openRig(dir: string): Rig {
  const rig = Rig.open({ dir });
  if (rig === undefined) throw new Error(`no rig is up in ${dir} (scripts/rig up N makes one)`);
  return rig;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function hostTable(rig: Rig): string {
  const rows = rig.hosts.map((h) => [
    String(h.index),
    h.name,
    h.secret === undefined ? h.role : `${h.role} (wrong secret)`,
    h.address,
    `http://${h.address}:${RIG_HTTP_PORT}`,
    h.namespace,
    h.pid === undefined ? '-' : String(h.pid),
  ]);
  return renderTable(['#', 'node', 'role', 'address', 'http (inside the namespaces)', 'namespace', 'pid'], rows);
}

function statusTable(statuses: readonly HostStatus[]): string {
  const rows = statuses.map(({ host, running, view, lossDropped }) => {
    const others = view?.peers ?? [];
    const alive = others.filter((p) => p.state === 'alive').length;
    const stores = [...new Set(view?.registry.entries.map((e) => e.store) ?? [])].sort();
    let node = running ? (view === undefined ? 'not answering' : view.self.state) : 'stopped';
    if (view !== undefined && view.registry.conflicts.length > 0) node += ' (store conflict)';
    const loss = host.lossPercent === 0 ? '-' : `${host.lossPercent}%${host.lossUdpOnly ? ' udp' : ''}, ${lossDropped ?? 0} dropped`;
    return [
      String(host.index),
      host.name,
      host.secret === undefined ? host.role : `${host.role} (wrong secret)`,
      host.address,
      host.pid === undefined ? '-' : String(host.pid),
      node,
      view === undefined ? '-' : `${alive}/${others.length}`,
      view === undefined ? '-' : String(view.mesh.connections),
      view === undefined ? '-' : stores.join(',') || '(none)',
      host.partitioned ? 'partitioned' : 'up',
      loss,
    ];
  });
  return renderTable(['#', 'node', 'role', 'address', 'pid', 'state', 'peers alive', 'mesh', 'registry', 'link', 'loss'], rows);
}

async function up(dir: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      gateways: { type: 'string', default: '0' },
      broadcast: { type: 'boolean', default: false },
      multicast: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
      'timeout-ms': { type: 'string' },
      keep: { type: 'boolean', default: false },
      loss: { type: 'string' },
      udp: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('up takes the number of hosts: scripts/rig up 3');
  if (values.broadcast && values.multicast) throw new UsageError('choose --broadcast or --multicast, not both');
  const hosts = Number(positionals[0]);
  const gateways = Number(values.gateways);
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--env takes KEY=VALUE (got ${pair})`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const mode: GossipMode = values.multicast ? 'multicast' : 'broadcast';
  const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new UsageError('--timeout-ms takes a positive integer');
  const lossPercent = values.loss === undefined ? undefined : Number(values.loss);
  if (lossPercent !== undefined && !(Number.isInteger(lossPercent) && lossPercent >= 0 && lossPercent <= 100)) {
    throw new UsageError('--loss takes a percentage from 0 to 100');
  }
  const gossip = mode === 'broadcast' ? `broadcast to ${RIG_BROADCAST_ADDRESS}` : `multicast on ${RIG_MULTICAST_GROUP}`;
  console.log(`rig: ${hosts} hosts (${gateways} gateways) on subnet ${RIG_SUBNET}, ${gossip}:${RIG_GOSSIP_PORT}, mesh port ${RIG_MESH_PORT}`);
  const started = Date.now();
  let rig: Rig;
  try {
    rig = await Rig.up(
      { dir, progress: (line) => console.log(`rig: ${line}`) },
      {
        hosts,
        gateways,
        mode,
        env,
        keepOnFailure: values.keep,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(lossPercent === undefined ? {} : { loss: { percent: lossPercent, udpOnly: values.udp } }),
      },
    );
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(hostTable(rig));
  const stores = rig.hosts.flatMap((h) => h.stores);
  console.log(
    `cluster formed in ${seconds(Date.now() - started)}: every node sees the other ${hosts - 1} alive and connected` +
      `, and stores ${stores.join(', ') || '(none)'} in its registry`,
  );
  console.log(`state: ${rig.dir} · try: scripts/rig exec 1 curl -s http://${rig.host(1).address}:${RIG_HTTP_PORT}/v1/cluster · scripts/rig down removes it all`);
  return EXIT_OK;
}

async function status(dir: string, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const rig = openRig(dir);
  const statuses = await rig.status();
  if (values.json) {
    console.log(JSON.stringify(statuses, null, 2));
    return EXIT_OK;
  }
  console.log(`rig in ${rig.dir}: ${rig.hosts.length} hosts, ${rig.mode} gossip, cluster ${rig.clusterName}, bridge ${rig.bridgeNamespace}`);
  process.stdout.write(statusTable(statuses));
  return EXIT_OK;
}

async function main(argv: string[]): Promise<number> {
  let dir = process.env['GATER_RIG_DIR'] || DEFAULT_RIG_DIR;
  let rest = argv;
  while (rest[0] === '--dir' || rest[0]?.startsWith('--dir=')) {
    if (rest[0] === '--dir') {
      if (rest[1] === undefined) throw new UsageError('--dir takes a directory');
      dir = rest[1];
      rest = rest.slice(2);
    } else {
      dir = rest[0].slice('--dir='.length);
      rest = rest.slice(1);
    }
  }
  const [command, ...args] = rest;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (process.getuid?.() !== 0) {
    console.error('rig: must run as root: it creates network namespaces, links and nftables rules (try: sudo scripts/rig …)');
    return EXIT_FAILURE;
  }
  const unsupported = await namespaceSupport();
  if (unsupported !== undefined) {
    console.error(`rig: ${unsupported}`);
    return EXIT_FAILURE;
  }
  switch (command) {
    case 'up':
      return up(dir, args);
    case 'status':
      return status(dir, args);
    case 'down': {
      parseArgs({ args, options: {} });
      const report = await Rig.down({ dir });
      console.log(`rig down: ${report.processes} processes killed, ${report.namespaces} namespaces deleted, ${dir} removed`);
      return EXIT_OK;
    }
    case 'kill': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { signal: { type: 'string', default: 'SIGKILL' } } });
      const rig = openRig(dir);
      const index = hostIndex(positionals[0]);
      const signal = (values.signal.startsWith('SIG') ? values.signal : `SIG${values.signal}`).toUpperCase() as NodeJS.Signals;
      const pid = rig.host(index).pid;
      await rig.kill(index, signal);
      const what = signal === 'SIGSTOP' ? 'paused' : signal === 'SIGCONT' ? 'resumed' : `ended by ${signal}`;
      console.log(`rig: ${rig.host(index).name} (PID ${pid ?? '-'}) ${what}`);
      return EXIT_OK;
    }
    case 'start': {
      const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
      const rig = openRig(dir);
      const index = hostIndex(positionals[0]);
      const started = Date.now();
      await rig.start(index);
      await rig.waitFormed();
      console.log(`rig: ${rig.host(index).name} started (PID ${rig.host(index).pid}) and rejoined in ${seconds(Date.now() - started)}`);
      return EXIT_OK;
    }
    case 'partition':
    case 'heal': {
      const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
      const rig = openRig(dir);
      const index = hostIndex(positionals[0]);
      if (command === 'partition') await rig.partition(index);
      else await rig.heal(index);
      console.log(`rig: ${rig.host(index).name}'s link is ${command === 'partition' ? 'down (partitioned)' : 'up again'}`);
      return EXIT_OK;
    }
    case 'loss': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { udp: { type: 'boolean', default: false } } });
      const rig = openRig(dir);
      const index = hostIndex(positionals[0]);
      const percent = Number(positionals[1]);
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new UsageError('loss takes a percentage from 0 to 100');
      await rig.loss(index, percent, values.udp);
      console.log(`rig: ${rig.host(index).name} drops ${percent}% of the ${values.udp ? 'UDP packets' : 'packets'} it receives`);
      return EXIT_OK;
    }
    case 'add': {
      const { values } = parseArgs({ args, options: { gateway: { type: 'boolean', default: false }, secret: { type: 'string' } } });
      const rig = openRig(dir);
      const host = await rig.add({ role: values.gateway ? 'gateway' : 'store', ...(values.secret === undefined ? {} : { secret: values.secret }) });
      console.log(`rig: host ${host.index} (${host.name}, ${host.address}) added${host.secret === undefined ? '' : ' with its own secret'}`);
      return EXIT_OK;
    }
    case 'exec': {
      const rig = openRig(dir);
      const index = hostIndex(args[0]);
      const cmd = args[1] === '--' ? args.slice(2) : args.slice(1);
      if (cmd.length === 0) throw new UsageError('exec takes a command: scripts/rig exec 1 gater status');
      return rig.exec(index, cmd);
    }
    case 'logs': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { lines: { type: 'string', default: '40' } } });
      const rig = openRig(dir);
      const index = hostIndex(positionals[0]);
      console.log(`${rig.host(index).logFile}:`);
      console.log(rig.logTail(index, Number(values.lines)));
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`rig: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
  } else {
    console.error(`rig: ${(err as Error).message}`);
    process.exitCode = EXIT_FAILURE;
  }
}

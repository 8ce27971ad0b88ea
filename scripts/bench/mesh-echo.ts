/**
 * Mesh echo benchmark: 72-byte frames echoed over one long-lived libp2p stream between two processes on 127.0.0.1
 * (tcp, noise, yamux; the private network on unless `--no-pnet`), with a fixed number of frames in flight.
 *
 * Two ways of writing, on both ends:
 * - `per-frame`: one `stream.send` per frame;
 * - `coalesced`: every frame produced during one turn of the event loop goes out in one `send` (flushed by
 *   `setImmediate`), which is what the RPC of issue 6 plans to do.
 *
 * It checks the figures quoted in issue 6 on this machine; it prints them, asserts nothing. Each scenario is bounded
 * in time (`--seconds`, after a warm-up) and run `--runs` times, the modes alternated, so a burst of load from
 * other work on a shared machine shows as a spread rather than as a wrong ratio; the range and median are printed.
 *
 *   node scripts/bench/mesh-echo.ts [--seconds 2] [--runs 3] [--in-flight 100] [--no-pnet]
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Mesh, type MeshStream } from '../../src/mesh/index.ts';

const PROTOCOL = '/gater-bench/echo/1.0.0';
const FRAME_BYTES = 72;
const CLUSTER = 'bench';
const SECRET = 'mesh-echo-benchmark-secret';
const WARMUP_MS = 500;
/** A server that does not report its address within this is given up on. */
const SERVER_START_TIMEOUT_MS = 15_000;

type WriteMode = 'per-frame' | 'coalesced';
const MODES: readonly WriteMode[] = ['per-frame', 'coalesced'];

const { values: args } = parseArgs({
  options: {
    serve: { type: 'string' },
    'no-pnet': { type: 'boolean', default: false },
    seconds: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '100' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

/** Sends frames on a stream, one `send` each or gathered per event-loop turn. */
class FrameWriter {
  private readonly pending: Uint8Array[] = [];
  private scheduled = false;
  private readonly stream: MeshStream;
  private readonly mode: WriteMode;
  sends = 0;

  constructor(stream: MeshStream, mode: WriteMode) {
    this.stream = stream;
    this.mode = mode;
  }

  write(frame: Uint8Array): void {
    if (this.mode === 'per-frame') {
      this.sends += 1;
      this.stream.send(frame);
      return;
    }
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.stream.status !== 'open') return;
    const batch = Buffer.concat(this.pending);
    this.pending.length = 0;
    this.sends += 1;
    this.stream.send(batch);
  }
}

/** Splits a byte stream into fixed-size frames. */
function frames(onFrame: (frame: Uint8Array) => void): (chunk: Uint8Array) => void {
  let rest = Buffer.alloc(0);
  return (chunk) => {
    const data = rest.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([rest, chunk]);
    let offset = 0;
    for (; offset + FRAME_BYTES <= data.byteLength; offset += FRAME_BYTES) {
      onFrame(data.subarray(offset, offset + FRAME_BYTES));
    }
    rest = Buffer.from(data.subarray(offset));
  };
}

function newMesh(pnet: boolean, privateKey: Awaited<ReturnType<typeof generateKeyPair>>): Mesh {
  return new Mesh(
    {},
    {
      privateKey,
      listenHost: '127.0.0.1',
      port: 0,
      clusterName: CLUSTER,
      clusterSecrets: pnet ? { primary: SECRET, previous: [] } : { previous: [] },
    },
  );
}

/** The echo side, in a child process: prints its address, echoes until its stdin closes, then prints its CPU time. */
async function serve(mode: WriteMode, pnet: boolean): Promise<void> {
  const mesh = newMesh(pnet, await generateKeyPair('Ed25519'));
  // CPU is counted from the first frame, so the idle time before the client connects does not dilute it.
  let cpuStart: NodeJS.CpuUsage | undefined;
  let wallStart = 0;
  await mesh.handle(PROTOCOL, (stream) => {
    const writer = new FrameWriter(stream, mode);
    const split = frames((frame) => writer.write(frame));
    stream.addEventListener('message', (evt) => {
      if (cpuStart === undefined) {
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
      }
      split(evt.data.subarray());
    });
  });
  await mesh.start();
  console.log(JSON.stringify({ peerId: mesh.peerId, addrs: mesh.addrs() }));
  process.stdin.resume();
  await once(process.stdin, 'end');
  const cpu = process.cpuUsage(cpuStart);
  console.log(JSON.stringify({ cpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - wallStart) }));
  await mesh.stop();
}

interface Result {
  mode: WriteMode;
  pnet: boolean;
  framesPerSec: number;
  framesPerSend: number;
  clientCpuPercent: number;
  serverCpuPercent: number;
}

async function main(seconds: number, runs: number, inFlight: number, pnet: boolean): Promise<void> {
  console.log(
    `mesh echo: ${FRAME_BYTES}-byte frames, ${inFlight} in flight, one stream, ${seconds} s × ${runs} runs per mode, ` +
      `pnet ${pnet ? 'on' : 'off'}`,
  );
  const results: Result[] = [];
  for (let run = 0; run < runs; run++) {
    for (const mode of MODES) results.push(await scenario(mode, pnet, seconds, inFlight));
  }
  console.log();
  console.log('mode       pnet  frames/s (median)  range                 frames/send  client CPU  server CPU');
  const medians = new Map<WriteMode, number>();
  for (const mode of MODES) {
    const mine = results.filter((r) => r.mode === mode);
    const rates = mine.map((r) => r.framesPerSec).sort((a, b) => a - b);
    const median = rates[Math.floor(rates.length / 2)]!;
    medians.set(mode, median);
    const avg = (f: (r: Result) => number): number => mine.reduce((sum, r) => sum + f(r), 0) / mine.length;
    const range = `${fmt(rates[0]!)}–${fmt(rates.at(-1)!)}`;
    const perSend = avg((r) => r.framesPerSend).toFixed(1);
    const clientCpu = avg((r) => r.clientCpuPercent).toFixed(0);
    const serverCpu = avg((r) => r.serverCpuPercent).toFixed(0);
    console.log(
      `${mode.padEnd(10)} ${(pnet ? 'on' : 'off').padEnd(5)} ${fmt(median).padStart(17)}  ${range.padEnd(20)}  ` +
        `${perSend.padStart(11)}  ${clientCpu.padStart(9)}%  ${serverCpu.padStart(9)}%`,
    );
  }
  const perFrame = medians.get('per-frame');
  const coalesced = medians.get('coalesced');
  if (perFrame !== undefined && coalesced !== undefined) {
    console.log(`coalesced / per-frame (medians): ${(coalesced / perFrame).toFixed(1)}×`);
  }
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

async function scenario(mode: WriteMode, pnet: boolean, seconds: number, inFlight: number): Promise<Result> {
  const child = spawn(process.execPath, [import.meta.filename, '--serve', mode, ...(pnet ? [] : ['--no-pnet'])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    new Promise<never>((_, reject) => {
      setTimeout(() => reject(new Error('the echo server did not start')), SERVER_START_TIMEOUT_MS).unref();
    }),
  ]);
  const server = JSON.parse(String(first.value)) as { peerId: string; addrs: string[] };

  const mesh = newMesh(pnet, await generateKeyPair('Ed25519'));
  await mesh.start();
  try {
    await mesh.dial(server.peerId, server.addrs);
    const stream = await mesh.dialProtocol(server.peerId, PROTOCOL);
    const writer = new FrameWriter(stream, mode);
    const frame = new Uint8Array(FRAME_BYTES).fill(7);
    let echoed = 0;
    let counting = false;
    let counted = 0;
    const split = frames(() => {
      echoed += 1;
      if (counting) counted += 1;
      writer.write(frame); // keep the window full
    });
    stream.addEventListener('message', (evt) => split(evt.data.subarray()));
    for (let i = 0; i < inFlight; i++) writer.write(frame);
    await sleep(WARMUP_MS);
    const sendsBefore = writer.sends;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    counting = true;
    await sleep(seconds * 1000);
    counting = false;
    const elapsedMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    const sends = writer.sends - sendsBefore;
    stream.abort(new Error('benchmark over'));
    child.stdin.end();
    const last = await lines.next();
    const serverCpu = (JSON.parse(String(last.value)) as { cpuPercent: number }).cpuPercent;
    const result: Result = {
      mode,
      pnet,
      framesPerSec: (counted * 1000) / elapsedMs,
      framesPerSend: sends === 0 ? 0 : counted / sends,
      clientCpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / elapsedMs,
      serverCpuPercent: serverCpu,
    };
    console.log(`${mode}: ${fmt(result.framesPerSec)} frames/s (${echoed} echoed in all)`);
    return result;
  } finally {
    child.stdin.end();
    await mesh.stop();
    if (child.exitCode === null) await once(child, 'exit');
  }
}

function parseMode(text: string): WriteMode {
  if (text === 'per-frame' || text === 'coalesced') return text;
  throw new Error(`unknown mode '${text}'`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Last, so that every class above is initialised before it runs.
if (args.help) {
  console.log('usage: node scripts/bench/mesh-echo.ts [--seconds 2] [--runs 3] [--in-flight 100] [--no-pnet]');
} else if (args.serve !== undefined) {
  await serve(parseMode(args.serve), !args['no-pnet']);
} else {
  await main(Number(args.seconds), Number(args.runs), Number(args['in-flight']), !args['no-pnet']);
}

/**
 * What a benchmark report says about the machine it ran on: a figure on a shared 2-core box means little without the
 * load around it.
 */
import { cpus, loadavg } from 'node:os';

export interface MachineNotes {
  cores: number;
  cpuModel: string;
  node: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: [number, number, number];
  date: string;
}

export function machineNotes(): MachineNotes {
  const [one, five, fifteen] = loadavg();
  const r = (n: number | undefined): number => Math.round((n ?? 0) * 100) / 100;
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    loadAverage: [r(one), r(five), r(fifteen)],
    date: new Date().toISOString(),
  };
}

export function describeMachine(m: MachineNotes): string {
  return `${m.cores} cores (${m.cpuModel}), Node ${m.node}, load average ${m.loadAverage.join(' / ')}`;
}

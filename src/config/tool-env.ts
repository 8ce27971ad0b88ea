/**
 * `GATER_*` variables that are not node settings: the project's own tools read them, and a shell set up to run those
 * tools exports them, so `gater start` must not refuse them as typos of a setting. Each with what reads it; the node
 * ignores them. config/README.md lists the same names.
 */
export const TOOL_ENV: Readonly<Record<string, string>> = {
  GATER_RIG_DIR: 'scripts/rig: where the rig keeps its state, node data and logs',
};

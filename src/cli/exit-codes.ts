/** Exit codes of the CLI. */
export const EXIT_OK = 0;
/** The command ran and failed: a node that could not start or stop, an unreachable node. */
export const EXIT_FAILURE = 1;
/** The command was not understood: unknown command or flag, invalid configuration. Nothing was attempted. */
export const EXIT_USAGE = 2;

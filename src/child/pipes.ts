import { pipesVariable } from '../protocol.js';

/**
 * This child's two pipes beside its IPC channel, when the parent gave it them (protocol.ts): taken
 * out of the environment before any user code runs, and never closed by the child's own code
 * (inherited-descriptors.ts).
 */
const [notice, control] = (process.env[pipesVariable] ?? '').split(',').map(Number);
delete process.env[pipesVariable];

const descriptor = (fd: number | undefined) => (Number.isInteger(fd) && (fd as number) > 2 ? fd : undefined);

/** Where this child writes its notices (shared/notice-frames.ts). */
export const noticeFd = descriptor(notice);
/** Where the parent writes its batch control (shared/control-frames.ts). */
export const controlFd = descriptor(control);

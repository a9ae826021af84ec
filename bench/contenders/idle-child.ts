// A bare node child that only waits: the floor for a pool child's memory at idle.
// Its IPC channel keeps it alive; it says when it is up, then does nothing.
process.on('message', () => {});
process.send!('ready');

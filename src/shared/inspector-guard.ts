/**
 * Any process of the user may signal this one, a sandboxed child of any app on the machine among
 * them (the permission model lets it signal). SIGUSR1 would open this process's inspector on
 * 127.0.0.1:9229, through which such a process could run code here with this one's rights (a remote
 * worker's: its Redis connection and its secret). A listener keeps it closed. Only when the app has
 * none of its own: it then decides.
 */
export function guardInspector(): void {
  if (process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => {});
}

/** ioredis's own slot function (a dependency of ioredis, without types of its own). */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0..16383) of a key or shard channel, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}

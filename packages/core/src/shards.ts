/**
 * Number of virtual shards. Writers stamp every row with its shard, so this is part of the
 * stored format: relays split these 64 shards among themselves, however many relays run.
 */
export const SHARD_COUNT = 64;

/** FNV-1a over the aggregate key: stable across processes and versions, cheap, well spread. */
export function shardOf(aggregateType: string, aggregateId: string): number {
  let hash = 0x811c9dc5;
  const key = `${aggregateType}\u0000${aggregateId}`;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SHARD_COUNT;
}

/**
 * The shards relay `memberIndex` of `memberCount` live relays should own: a deterministic,
 * even split, so every relay computes the same assignment from the same membership list.
 */
export function shardsFor(memberIndex: number, memberCount: number): number[] {
  const shards: number[] = [];
  for (let shard = 0; shard < SHARD_COUNT; shard++) {
    if (shard % memberCount === memberIndex) shards.push(shard);
  }
  return shards;
}

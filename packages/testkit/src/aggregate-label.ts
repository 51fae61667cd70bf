/** `order/o-1`: how reports and messages name an aggregate; `?` stands for a part nobody reported. */
export function aggregateLabel(aggregateType: string | undefined, aggregateId: string | undefined): string {
  return `${aggregateType ?? '?'}/${aggregateId ?? '?'}`;
}

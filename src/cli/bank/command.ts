/** `threadkit bank` (being written). */
export async function run(_argv: string[]): Promise<number> {
  console.error('threadkit bank: not implemented yet');
  return 2;
}

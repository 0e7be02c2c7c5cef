/** `threadkit download` (being written). */
export async function run(_argv: string[]): Promise<number> {
  console.error('threadkit download: not implemented yet');
  return 2;
}

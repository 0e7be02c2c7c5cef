// Shared memory: Value and Array (multiprocessing.Value / multiprocessing.Array).
export {};

export * from './tiered-table';
export * from './duration';
export * from './pg-types';
export * from './defaults';
export * from './schema';
export * from './validate';
export * from './crd';

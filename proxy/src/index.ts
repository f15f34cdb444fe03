export * from './engine/contract';

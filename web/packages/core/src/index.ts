export * from './outbox'
export * from './preview'
export * from './sha256'
export * from './visit'

// Placeholder until native/ lands: the pure-TS backend works without it.
console.log('[kvprism] native addon: not built (native sources not present); using the TypeScript backend');

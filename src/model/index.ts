// The model core: the intended behaviour of the newest kernel (7.3) for the calls of the sequence
// language, with explicit per-version differences (src/model/profile-rows.ts). Pure TypeScript,
// no I/O, deterministic. See docs/model-behaviour.md.

export { environmentText, makeProfile, hostProfile, parseRelease, unusualFacts, type Profile, type ThpMode } from './profile.js';
export { PROFILE_ROWS, ROW_IDS, type ProfileRow, type RowId } from './profile-rows.js';
export { RULES, RULE_IDS, type RuleId, type RuleHits } from './rules.js';
export { predict, applyCall, renderMaps, legalPlacement, SHMEM_DEV, type Prediction, type PredictOptions } from './predict.js';
export { Mm, HPAGE_PAGES, type Vma } from './state.js';
export { vmFlagsToString, permsOf } from './flags.js';
export { Unsupported, classifyLen } from './syscalls.js';
export { vmFlagsLayer, pagemapLayer } from './layers.js';

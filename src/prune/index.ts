/** Pruning: unstructured (magnitude, global, N:M), structured channels with graph surgery, schedules, fine-tuning with held masks. */
export { type PruneResult, applyMaskCopy, countPruned, countZeros, prunedCount } from './mask.js';
export { magnitudePrune, thresholdPrune, qualityPrune, standardDeviation, magnitudeOrder, checkSparsity } from './magnitude.js';
export { globalMagnitudePrune, type GlobalPruneResult } from './global.js';
export { nmPrune, parseNmPattern, satisfiesNm, nmUnfitReason, type NmPattern } from './nm.js';
export { channelNorms, lowestChannels, channelsToRemove, type ChannelNorm } from './channel-scores.js';
export {
  oneshotSchedule,
  iterativeSchedule,
  polynomialSchedule,
  makeSchedule,
  SCHEDULE_NAMES,
  type ScheduleName,
  type SparsitySchedule,
  type PolynomialDecayOptions,
} from './schedule.js';
export { selectPrunableWeights, globToRegExp, type PrunableWeight, type SkippedWeight, type WeightFilter } from './select.js';
export {
  pruneUnstructured,
  chooseMasks,
  eligibleWeights,
  type UnstructuredMethod,
  type LayerPruneReport,
  type UnstructuredPruneResult,
  type MaskLayer,
} from './unstructured.js';
export { planChannelPruning, type ChannelPlan, type ChannelLayerPlan, type ChannelEdit, type SkippedLayer } from './channel-plan.js';
export {
  pruneChannels,
  removeChannels,
  zeroChannelInputs,
  sliceChannels,
  prepareForChannelPruning,
  channelMasks,
  chooseChannelLayers,
  chooseRemoval,
  layerScores,
  type WeightReader,
  type ChannelRemoval,
  type ChannelPruneOptions,
  type ChannelPruneResult,
  type ChannelLayerReport,
} from './channel-surgery.js';
export { pruneAndFinetune, type PruneFinetuneOptions, type PruneFinetuneResult } from './finetune.js';
export { paramStats, zerosByName, type ParamStats } from './stats.js';
export { teacherFeeds } from '../train/teacher.js';
export { pruneChannelsWhileFinetuning, type ChannelFinetuneOptions, type ChannelFinetuneResult } from './channel-finetune.js';
export { recalibrateBatchNorm, type BnRecalibrationOptions, type BnRecalibrationResult } from './channel-bn-recalibrate.js';

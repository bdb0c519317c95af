"""Interpretability of forecasters: attention maps, permutation importance, attributions.

    from lstmkit import explain
    imp = explain.permutation_importance(model, df, repeats=5)      # features, time steps
    ig = explain.integrated_gradients(model, df, origin="2014-12-24")
    att = explain.attention_weights(model, df)                      # models with attention
    explain.explain_model(model, df).report("runs/explain/explain.html")

Origins are the times of the forecasts' first steps (as in the backtest's forecasts table).
"""

from lstmkit.explain.attention import attention_weights
from lstmkit.explain.explanation import Explanation, explain_model
from lstmkit.explain.gradients import Attribution, integrated_gradients
from lstmkit.explain.permutation import PermutationImportance, permutation_importance

__all__ = [
    "Attribution",
    "Explanation",
    "PermutationImportance",
    "attention_weights",
    "explain_model",
    "integrated_gradients",
    "permutation_importance",
]

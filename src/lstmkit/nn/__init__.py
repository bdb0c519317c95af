"""Recurrent building blocks: pure PyTorch modules, no pandas."""

from lstmkit.nn.attention import AdditiveAttention, DotProductAttention, SelfAttentionPooling
from lstmkit.nn.cells import GRUCell, LSTMCell, PeepholeLSTMCell
from lstmkit.nn.convlstm import ConvLSTM, ConvLSTMCell
from lstmkit.nn.recurrent import Recurrent
from lstmkit.nn.regressor import SequenceRegressorNet
from lstmkit.nn.seq2seq import Seq2Seq

__all__ = [
    "AdditiveAttention",
    "ConvLSTM",
    "ConvLSTMCell",
    "DotProductAttention",
    "GRUCell",
    "LSTMCell",
    "PeepholeLSTMCell",
    "Recurrent",
    "Seq2Seq",
    "SelfAttentionPooling",
    "SequenceRegressorNet",
]

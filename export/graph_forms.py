"""The two forms of the int8 model one export writes, each a rewrite of the converter's graph that
computes exactly its integers: the MCU graph (TFLite Micro, the C array) and the host graph (XNNPACK).

Every rewrite is exact in integer arithmetic: a zero weight adds zero to the int32 accumulator, a
permutation of channels or of samples moves values without changing them, and an operator run on a
slice of its input with enough context gives the same values there.

Both forms:
- **one RESHAPE per upsampling**: the 1×1 conv before each pixel shuffle writes its output channels in
  the order a single RESHAPE needs, so TRANSPOSE, RESHAPE, TRANSPOSE, RESHAPE, TRANSPOSE become RESHAPE.
- **any batch**: every RESHAPE's batch dimension is −1 and every STRIDED_SLICE takes the whole batch,
  so an interpreter resized to L windows runs L leads in one call (the converter writes a batch of 1).

The MCU graph (reference kernels gain from few MACs and few tensors; the arena is what limits it):
- **skips added in the upsampling's shape**: at the finest levels, the encoder's skip is reshaped when
  it is made to the shape of the upsampling conv's output, (T/2, 2C) instead of (T, C), the ADD runs
  in that shape and one RESHAPE after it gives the level's shape back. The same memory either way, so
  the same values; but the upsampling's RESHAPE, whose input and output were live together with both
  skips, was the arena's peak.
- **the head in halves of time**: the local extrema, their CONCATENATION and the head conv run on each
  half of the window (plus the few samples of context they reach), and the halves' outputs are joined.
  The CONCATENATION, whose three inputs and output are live at once, was the arena's peak.

The host graph (XNNPACK's int8 convolution pads each group's input and output channels to its vector
width, so grouped convolutions of 1–4 channels per group leave most of its lanes idle):
- **dense convolutions**: every grouped CONV_2D and the DEPTHWISE_CONV_2D become dense CONV_2Ds whose
  filters hold the group's weights and zeros elsewhere. Per-output-channel scales are unchanged.
- **rows of samples**: a (T, C) tensor is, in memory, a (T/f, f·C) tensor of rows of f samples
  (channel p·C + c holds sample f·l + p). Every level but the deepest runs on sample pairs
  (``HOST_ROWS``): twice the channels at half the length, which suits XNNPACK's vector width (the
  12-channel levels become 24 channels, a multiple of its 8 lanes). A conv of stride s reading rows of
  f_in and writing rows of f_out is one conv of stride s·f_out/f_in whose taps and channels are the old
  ones rearranged (``_convolution_in_rows``); PAD + a stride-2 downsampling conv becomes one SAME conv;
  an upsampling's RESHAPE disappears where its input already holds the output's rows; ADD works on any
  rows. Operators without a row form (the local extrema's MAX_POOL_2D, the head's CONCATENATION) read
  one sample per row through a RESHAPE, and the head conv writes pairs (the model's output in memory
  order).

The exporter checks both forms against the converter's graph on LiteRT's reference kernels, the host
graph against the MCU graph on XNNPACK too, and the MCU graph in TFLite Micro (export/pipeline.py);
`tests/test_graph_forms.py` checks the shipped files.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ulde.export.tflite_graph import TFLiteGraphError, drop_unused, operator_name, pack_model, read_model

PIXEL_SHUFFLE = ("TRANSPOSE", "RESHAPE", "TRANSPOSE", "RESHAPE", "TRANSPOSE")
"""The converter's form of a factor-2 upsampling (channels c·2 + r to samples 2l + r), after a 1×1 conv."""


HEAD_PARTS = 2
"""Time slices the MCU graph's head runs in: halves take its peak below the next one (docs/model.md)."""
EARLY_SKIP_DEPTHS = (0, 1)
"""Levels (0: full resolution) whose skip the MCU graph adds in the upsampling's shape (docs/model.md):
at the coarser ones the extra RESHAPE costs TFLM persistent bytes and saves no arena."""


HOST_ROWS = (2, 2, 2, 2, 1)
"""Samples per row of the host graph's activations at each level, full resolution first (docs/model.md)."""


def mcu_graph(data: bytes) -> bytes:
    """The MCU form of the converter's int8 model ``data``, unsealed: the caller embeds the contract."""
    model = read_model(data)
    graph = model.subgraphs[0]
    graph.operators = _single_reshape_upsampling(model, graph)
    graph.operators = _skips_in_upsampling_shape(model, graph, EARLY_SKIP_DEPTHS)
    graph.operators = _head_in_parts(model, graph, HEAD_PARTS)
    _any_batch(model, graph)
    drop_unused(model)
    return pack_model(model, len(data))


def host_graph(data: bytes, rows: tuple[int, ...] = HOST_ROWS) -> bytes:
    """The host form of the converter's int8 model ``data``, unsealed: the caller embeds the contract.
    ``rows``: samples per row at each level, full resolution first (a level past its end: one)."""
    model = read_model(data)
    graph = model.subgraphs[0]
    for op in graph.operators:
        _densify(model, graph, op)
    graph.operators = _single_reshape_upsampling(model, graph)
    graph.operators = _rows_of_samples(model, graph, rows)
    _any_batch(model, graph)
    drop_unused(model)
    return pack_model(model, len(data))


def _constant(model: schema.ModelT, tensor: schema.TensorT, dtype) -> np.ndarray:
    return np.frombuffer(bytes(bytearray(model.buffers[tensor.buffer].data)), dtype).reshape(tensor.shape)


def _set_constant(model: schema.ModelT, tensor: schema.TensorT, values: np.ndarray) -> None:
    """Give ``tensor`` the constant ``values`` in a buffer of its own (the converter shares the buffer of
    equal constants, which a rewrite of one tensor must not change for the others)."""
    buffer = schema.BufferT()
    buffer.data = list(np.ascontiguousarray(values).view(np.uint8).ravel())
    model.buffers.append(buffer)
    tensor.buffer, tensor.shape = len(model.buffers) - 1, list(values.shape)


def _densify(model: schema.ModelT, graph: schema.SubGraphT, op: schema.OperatorT) -> None:
    """Rewrite a grouped CONV_2D or a DEPTHWISE_CONV_2D in place as a dense CONV_2D (others untouched)."""
    name = operator_name(model, op.opcodeIndex)
    if name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return
    channels = graph.tensors[op.inputs[0]].shape[3]
    weights = graph.tensors[op.inputs[1]]
    filters = _constant(model, weights, np.int8)
    if name == "CONV_2D":
        outputs, height, width, per_group = filters.shape
        if per_group == channels:
            return
        outputs_per_group = outputs // (channels // per_group)
        dense = np.zeros((outputs, height, width, channels), np.int8)
        for out in range(outputs):
            start = out // outputs_per_group * per_group
            dense[out, :, :, start : start + per_group] = filters[out]
    else:  # filter (1, H, W, C·multiplier); output channel k reads input channel k // multiplier
        _, height, width, outputs = filters.shape
        multiplier = outputs // channels
        dense = np.zeros((outputs, height, width, channels), np.int8)
        for out in range(outputs):
            dense[out, :, :, out // multiplier] = filters[0, :, :, out]
        depthwise = op.builtinOptions
        options = schema.Conv2DOptionsT()
        for field in ("padding", "strideW", "strideH", "fusedActivationFunction", "dilationWFactor", "dilationHFactor"):
            setattr(options, field, getattr(depthwise, field))
        op.opcodeIndex = _opcode(model, schema.BuiltinOperator.CONV_2D)
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.Conv2DOptions, options
        weights.quantization.quantizedDimension = 0  # per output channel: the last axis before, the first now
    _set_constant(model, weights, dense)


def _single_reshape_upsampling(model: schema.ModelT, graph: schema.SubGraphT) -> list[schema.OperatorT]:
    """The operator list with each 1×1 conv + PIXEL_SHUFFLE chain as the conv (channels reordered) + one RESHAPE."""
    operators, names = graph.operators, [operator_name(model, op.opcodeIndex) for op in graph.operators]
    kept, k = [], 0
    while k < len(operators):
        if tuple(names[k : k + len(PIXEL_SHUFFLE)]) != PIXEL_SHUFFLE or k == 0 or names[k - 1] != "CONV_2D":
            kept.append(operators[k])
            k += 1
            continue
        conv, last = operators[k - 1], operators[k + len(PIXEL_SHUFFLE) - 1]
        source, target = graph.tensors[conv.outputs[0]], graph.tensors[last.outputs[0]]
        if not _same_quantization(source, target) or target.shape[2] != 2 * source.shape[2]:
            raise TFLiteGraphError("an upsampling chain whose output is not its input's samples interleaved")
        half = source.shape[3] // 2
        order = np.array([2 * c + r for r in range(2) for c in range(half)])  # new channel r·half + c was 2c + r
        for tensor, dtype in ((graph.tensors[conv.inputs[1]], np.int8), (graph.tensors[conv.inputs[2]], np.int32)):
            _set_constant(model, tensor, _constant(model, tensor, dtype)[order])
            tensor.quantization.scale = [tensor.quantization.scale[i] for i in order]
            tensor.quantization.zeroPoint = [tensor.quantization.zeroPoint[i] for i in order]
        kept.append(_reshape(model, graph, conv.outputs[0], last.outputs[0]))
        k += len(PIXEL_SHUFFLE)
    return kept


def _skips_in_upsampling_shape(model: schema.ModelT, graph: schema.SubGraphT,
                               depths: tuple[int, ...]) -> list[schema.OperatorT]:
    """The operator list with each upsampling RESHAPE at ``depths`` that feeds an ADD folded into it
    (module docstring): the skip is reshaped right after its producer, the ADD reads the upsampling
    conv's output, and one RESHAPE after the ADD writes the ADD's old output tensor."""
    window = graph.tensors[graph.inputs[0]].shape[-1]
    producer = {out: k for k, op in enumerate(graph.operators) for out in op.outputs}
    readers = _readers(graph)
    after: dict[int, list[schema.OperatorT]] = {}  # operator position -> operators inserted after it
    rewritten: dict[int, list[schema.OperatorT]] = {}  # operator id -> what replaces it
    for op in graph.operators:
        if operator_name(model, op.opcodeIndex) != "RESHAPE" or op.inputs[0] not in producer:
            continue
        upsampled, conv_output = op.outputs[0], op.inputs[0]
        users = readers.get(upsampled, [])
        if len(users) != 1 or operator_name(model, users[0].opcodeIndex) != "ADD" \
                or graph.tensors[upsampled].shape[2] not in {window >> depth for depth in depths}:
            continue
        add = users[0]
        (skip,) = [i for i in add.inputs if i != upsampled]
        shape = list(graph.tensors[conv_output].shape)
        skip_view, added = _activation_like(graph, skip, shape), _activation_like(graph, add.outputs[0], shape)
        after.setdefault(producer[skip], []).append(_reshape(model, graph, skip, skip_view))
        rewritten[id(op)] = []
        rewritten[id(add)] = [add, _reshape(model, graph, added, add.outputs[0])]
        add.inputs = [conv_output if i == upsampled else skip_view for i in add.inputs]
        add.outputs = [added]
    kept = []
    for k, op in enumerate(graph.operators):
        kept += rewritten.get(id(op), [op]) + after.get(k, [])
    return kept


def _rows_of_samples(model: schema.ModelT, graph: schema.SubGraphT, per_level: tuple[int, ...]) -> list[schema.OperatorT]:
    """The operator list with each level's activations held ``per_level[depth]`` samples per row (module
    docstring): every convolution is rewritten for the rows it reads and writes, ADD works on any rows,
    and a RESHAPE gives an operator without a row form (MAX_POOL_2D, CONCATENATION) one sample per row."""
    window = graph.tensors[graph.inputs[0]].shape[-1]
    natural = {i: (int(t.shape[2]), int(t.shape[3])) for i, t in enumerate(graph.tensors)
               if len(_shape(graph, i)) == 4 and not _has_data(model, t)}  # activation -> (samples, channels)
    readers = _readers(graph)
    rows: dict[int, int] = {}  # activation -> samples per row it is held in
    views: dict[tuple[int, int], int] = {}  # (activation, samples per row) -> the tensor a RESHAPE writes
    kept: list[schema.OperatorT] = []

    def wanted(index: int) -> int:  # a level's rows; one sample per row off the levels (a slice of one)
        length = natural[index][0]
        depth = int(np.log2(window // length)) if window % length == 0 else len(per_level)
        if depth >= len(per_level) or window != length << depth:
            return 1
        if length % per_level[depth]:
            raise TFLiteGraphError(f"{length} samples do not fill rows of {per_level[depth]}")
        return per_level[depth]

    def hold(index: int, per_row: int) -> None:
        length, channels = natural[index]
        graph.tensors[index].shape = [1, 1, length // per_row, per_row * channels]
        rows[index] = per_row

    def view(index: int, per_row: int) -> int:
        if index not in rows or rows[index] == per_row:
            return index
        if (index, per_row) not in views:
            length, channels = natural[index]
            views[index, per_row] = _activation_like(graph, index, [1, 1, length // per_row, per_row * channels])
            natural[views[index, per_row]], rows[views[index, per_row]] = natural[index], per_row
            kept.append(_reshape(model, graph, index, views[index, per_row]))
        return views[index, per_row]

    operators = graph.operators
    k = 0
    while k < len(operators):
        op = operators[k]
        name = operator_name(model, op.opcodeIndex)
        source = op.inputs[0] if len(op.inputs) else -1
        output = op.outputs[0] if len(op.outputs) else -1
        if name == "RESHAPE" and output in natural:
            hold(output, wanted(output))
            if source in rows and _shape(graph, source) == _shape(graph, output) and len(readers[source]) == 1 \
                    and source not in graph.outputs:  # same memory, same shape: the producer writes ``output``
                _rename_output(kept, source, output)
                k += 1
                continue
            op.inputs = [source, _int32_constant(model, graph, _shape(graph, output))]
            if op.builtinOptions is not None:
                op.builtinOptions.newShape = _shape(graph, output)
        elif name == "RESHAPE":  # to a shape of its own (the graph's output): same memory from any rows
            pass
        elif name == "PAD" and k + 1 < len(operators) and operator_name(model, operators[k + 1].opcodeIndex) == "CONV_2D" \
                and operators[k + 1].inputs[0] == output and len(readers[output]) == 1 and source in rows:
            conv = operators[k + 1]
            _convolution_in_rows(model, graph, conv, source, natural[source][0], natural[conv.outputs[0]][0],
                                 _padding_before(model, graph, op), view, rows[source], wanted(conv.outputs[0]))
            hold(conv.outputs[0], wanted(conv.outputs[0]))
            kept.append(conv)
            k += 2
            continue
        elif name == "CONV_2D" and source in rows:
            _convolution_in_rows(model, graph, op, source, natural[source][0], natural[output][0], None, view,
                                 rows[source], wanted(output))
            hold(output, wanted(output))
        elif name == "ADD" and output in natural:
            op.inputs = [view(i, wanted(output)) for i in op.inputs]
            hold(output, wanted(output))
        elif name == "MUL" and source in rows and all(_shape(graph, i) in ([], [1]) for i in op.inputs[1:]):
            source = views.get((source, 1), source)  # times a scalar: any rows; a view already made is free
            op.inputs = [source, *op.inputs[1:]]
            hold(output, rows[source])
        else:
            op.inputs = [view(i, 1) for i in op.inputs]
            for index in op.outputs:
                if index in natural:
                    rows[index] = 1
        kept.append(op)
        k += 1
    if any(rows.get(i, 1) != 1 for i in graph.outputs):
        raise TFLiteGraphError("a graph output must keep one sample per row")
    return kept


def _readers(graph: schema.SubGraphT) -> dict[int, list[schema.OperatorT]]:
    """Tensor -> the operators that read it, in graph order."""
    readers: dict[int, list[schema.OperatorT]] = {}
    for op in graph.operators:
        for i in op.inputs:
            readers.setdefault(i, []).append(op)
    return readers


def _shape(graph: schema.SubGraphT, index: int) -> list[int]:
    shape = graph.tensors[index].shape
    return [] if shape is None else [int(d) for d in shape]


def _has_data(model: schema.ModelT, tensor: schema.TensorT) -> bool:
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    return data is not None and len(data) > 0


def _rename_output(kept: list[schema.OperatorT], old: int, new: int) -> None:
    """Every kept operator that wrote or read tensor ``old`` now uses ``new``."""
    for op in kept:
        op.outputs = [new if i == old else i for i in op.outputs]
        op.inputs = [new if i == old else i for i in op.inputs]


def _padding_before(model: schema.ModelT, graph: schema.SubGraphT, pad: schema.OperatorT) -> int:
    """Samples a PAD adds before the time axis (it must pad nothing else)."""
    paddings = _constant(model, graph.tensors[pad.inputs[1]], np.int32)
    if paddings.shape != (4, 2) or paddings[[0, 1, 3]].any():
        raise TFLiteGraphError(f"a PAD of the time axis only was expected, got paddings {paddings.tolist()}")
    return int(paddings[2, 0])


def _convolution_in_rows(model: schema.ModelT, graph: schema.SubGraphT, op: schema.OperatorT, source: int,
                         in_length: int, out_length: int, padded_before: int | None, view, in_rows: int,
                         out_rows: int) -> None:
    """Rewrite a dense CONV_2D along time to read ``source`` held ``in_rows`` samples per row and write its
    output ``out_rows`` samples per row, exactly.

    ``padded_before`` None: the conv reads ``source`` itself (SAME or VALID); else it reads a PAD of
    ``source`` by that many samples before and is VALID. Output sample j = out_rows·m + q reads input
    sample s·j + t − before = in_rows·(S·m + u) + p with S = s·out_rows / in_rows: filter tap t of output
    channel o becomes tap u of output channel q·O + o reading input channel p·C + c, and the new conv
    is a stride-S SAME conv over rows (its zero padding is the old one's, row for row)."""
    options = op.builtinOptions
    if options.strideH != 1 or options.dilationWFactor != 1 or options.dilationHFactor != 1:
        raise TFLiteGraphError("rows of samples need an undilated convolution along time")
    weights, bias = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
    filters = _constant(model, weights, np.int8)  # (O, 1, k, C)
    outputs, _, taps, channels = filters.shape
    stride = options.strideW
    if in_length != stride * out_length:
        raise TFLiteGraphError(f"a stride-{stride} conv of {in_length} samples to {out_length} is not exact in rows")
    if padded_before is not None:
        if options.padding != schema.Padding.VALID:
            raise TFLiteGraphError("a conv after a PAD must be VALID")
        before = padded_before
    elif options.padding == schema.Padding.SAME:
        before = max((out_length - 1) * stride + taps - in_length, 0) // 2
    else:
        before = 0
    if stride * out_rows % in_rows:
        in_rows = int(np.gcd(in_rows, stride * out_rows))
    row_stride = stride * out_rows // in_rows
    placed = [(q, t, *divmod(stride * q + t - before, in_rows)) for q in range(out_rows) for t in range(taps)]
    reach = max(max(-u for _, _, u, _ in placed), max(u for _, _, u, _ in placed) - row_stride + 1, 0)
    rewritten = np.zeros((out_rows * outputs, 1, 2 * reach + row_stride, in_rows * channels), np.int8)
    for q, t, u, p in placed:
        rewritten[q * outputs : (q + 1) * outputs, 0, u + reach, p * channels : (p + 1) * channels] = filters[:, 0, t, :]
    _set_constant(model, weights, rewritten)
    if out_rows > 1:
        _set_constant(model, bias, np.tile(_constant(model, bias, np.int32), out_rows))
        for tensor in (weights, bias):
            tensor.quantization.scale = list(tensor.quantization.scale) * out_rows
            tensor.quantization.zeroPoint = list(tensor.quantization.zeroPoint) * out_rows
    options.padding, options.strideW = schema.Padding.SAME, row_stride
    op.inputs = [view(source, in_rows), *op.inputs[1:]]


def _any_batch(model: schema.ModelT, graph: schema.SubGraphT) -> None:
    """Make every RESHAPE and STRIDED_SLICE independent of the batch size (module docstring)."""
    for op in graph.operators:
        name = operator_name(model, op.opcodeIndex)
        if name == "RESHAPE":
            shape = [int(d) for d in _constant(model, graph.tensors[op.inputs[1]], np.int32)]
            if shape[0] not in (1, -1):  # -1: a graph already rewritten
                raise TFLiteGraphError(f"a RESHAPE to {shape} does not keep the batch first")
            shape[0] = -1
            op.inputs = [op.inputs[0], _int32_constant(model, graph, shape)]
            if op.builtinOptions is not None:
                op.builtinOptions.newShape = shape
        elif name == "STRIDED_SLICE":
            op.builtinOptions.beginMask = op.builtinOptions.endMask = 0b1011  # all of batch, height, channels


def _head_in_parts(model: schema.ModelT, graph: schema.SubGraphT, parts: int) -> list[schema.OperatorT]:
    """The operator list with the head (the CONCATENATION of the local extrema, the conv after it and the
    chains of MAX_POOL_2D / MUL that feed it from one tensor) run on ``parts`` slices of time, joined."""
    operators, names = graph.operators, [operator_name(model, op.opcodeIndex) for op in graph.operators]
    if names.count("CONCATENATION") != 1:
        raise TFLiteGraphError("the head's CONCATENATION was expected once")
    concat = operators[names.index("CONCATENATION")]
    head = next(op for op in operators if len(op.inputs) and op.inputs[0] == concat.outputs[0])
    producer = {out: op for op in operators for out in op.outputs}
    region, reach, sources = [concat, head], [], set()
    for index in concat.inputs:  # walk each input back to the common source through unary operators
        steps = 0
        while index in producer and operator_name(model, producer[index].opcodeIndex) in ("MAX_POOL_2D", "MUL"):
            op = producer[index]
            if operator_name(model, op.opcodeIndex) == "MAX_POOL_2D":
                options = op.builtinOptions
                if options.strideW != 1 or options.padding != schema.Padding.SAME:
                    raise TFLiteGraphError("the local extrema's MAX_POOL_2D must be stride-1 SAME")
                steps += options.filterWidth // 2
            region.append(op)
            index = op.inputs[0]
        sources.add(index)
        reach.append(steps)
    if len(sources) != 1 or operator_name(model, head.opcodeIndex) != "CONV_2D":
        raise TFLiteGraphError("the head's CONCATENATION must join chains from one tensor, into a CONV_2D")
    (source,) = sources
    filters = graph.tensors[head.inputs[1]].shape
    context = max(reach) + filters[2] // 2
    length = graph.tensors[source].shape[2]
    in_region = {id(op) for op in region}  # operator tables compare by identity
    region_ops = [op for op in operators if id(op) in in_region]
    position = next(k for k, op in enumerate(operators) if id(op) in in_region)
    joined, pieces = [], []
    for part in range(parts):
        start, stop = part * length // parts, (part + 1) * length // parts
        low, high = max(0, start - context), min(length, stop + context)
        renamed = {source: _slice(model, graph, joined, source, low, high)}
        for op in region_ops:
            clone = schema.OperatorT()
            clone.opcodeIndex, clone.builtinOptionsType, clone.builtinOptions = op.opcodeIndex, op.builtinOptionsType, op.builtinOptions
            clone.inputs = [renamed.get(i, i) for i in op.inputs]
            clone.outputs = [_part_tensor(graph, out, high - low) for out in op.outputs]
            renamed.update(zip(op.outputs, clone.outputs))
            joined.append(clone)
        pieces.append(_slice(model, graph, joined, renamed[head.outputs[0]], start - low, stop - low))
    join = schema.OperatorT()
    options = schema.ConcatenationOptionsT()
    options.axis = 2
    join.opcodeIndex, join.inputs, join.outputs = concat.opcodeIndex, pieces, list(head.outputs)
    join.builtinOptionsType, join.builtinOptions = schema.BuiltinOptions.ConcatenationOptions, options
    rest = [op for op in operators if id(op) not in in_region]
    return rest[:position] + joined + [join] + rest[position:]


def _part_tensor(graph: schema.SubGraphT, like: int, length: int) -> int:
    """A new activation tensor like tensor ``like``, ``length`` samples long."""
    shape = graph.tensors[like].shape
    return _activation_like(graph, like, [*shape[:2], length, *shape[3:]])


def _activation_like(graph: schema.SubGraphT, like: int, shape) -> int:
    """Append an activation tensor (no constant data) of ``shape`` with tensor ``like``'s type and
    quantization; return its index."""
    original = graph.tensors[like]
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer, tensor.quantization = list(shape), original.type, 0, original.quantization
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _slice(model: schema.ModelT, graph: schema.SubGraphT, ops: list, source: int, start: int, stop: int) -> int:
    """Append a STRIDED_SLICE of samples [start, stop) of ``source`` to ``ops``; return its output tensor."""
    shape = graph.tensors[source].shape
    if start == 0 and stop == shape[2]:
        return source
    constants = [_int32_constant(model, graph, values) for values in
                 ([0, 0, start, 0], [shape[0], shape[1], stop, shape[3]], [1, 1, 1, 1])]
    output = _part_tensor(graph, source, stop - start)
    op = schema.OperatorT()
    op.opcodeIndex = _opcode(model, schema.BuiltinOperator.STRIDED_SLICE, version=2)  # version 2: int8
    op.inputs, op.outputs = [source, *constants], [output]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.StridedSliceOptions, schema.StridedSliceOptionsT()
    ops.append(op)
    return output


def _int32_constant(model: schema.ModelT, graph: schema.SubGraphT, values) -> int:
    array = np.asarray(values, np.int32)
    buffer = schema.BufferT()
    buffer.data = list(array.view(np.uint8))
    model.buffers.append(buffer)
    constant = schema.TensorT()
    constant.shape, constant.type, constant.buffer = [len(array)], schema.TensorType.INT32, len(model.buffers) - 1
    graph.tensors.append(constant)
    return len(graph.tensors) - 1


def _same_quantization(a: schema.TensorT, b: schema.TensorT) -> bool:
    qa, qb = a.quantization, b.quantization
    return list(qa.scale) == list(qb.scale) and list(qa.zeroPoint) == list(qb.zeroPoint)


def _reshape(model: schema.ModelT, graph: schema.SubGraphT, source: int, target: int) -> schema.OperatorT:
    """A RESHAPE of tensor ``source`` into tensor ``target``'s shape."""
    shape = [int(d) for d in graph.tensors[target].shape]
    options = schema.ReshapeOptionsT()
    options.newShape = shape
    op = schema.OperatorT()
    op.opcodeIndex = _opcode(model, schema.BuiltinOperator.RESHAPE)
    op.inputs, op.outputs = [source, _int32_constant(model, graph, shape)], [target]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.ReshapeOptions, options
    return op


def _opcode(model: schema.ModelT, builtin: int, version: int = 1) -> int:
    """The index of ``builtin``'s operator code, added (at ``version``) if the model has none."""
    for index, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return index
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1

"""Turn the random-noise nodes of an ONNX graph into inputs, so one session serves every seeded take.

onnxruntime seeds a graph's RandomNormalLike kernels once, when the session is built, and every run then
advances them. A reproducible take therefore used to need a fresh session per call (about 0.25 s on a CPU,
more than synthesizing a sentence). After `noise_as_inputs` each such node reads its values from a graph
input instead, which the caller fills with standard-normal noise from its own seeded generator: the same
seed gives the same noise and so the same audio, from one shared, thread-safe session.

The replacement keeps the node's contract (an output shaped like its input, mean + scale * N(0, 1)):

    values = Gather(noise, Range(0, Size(x)) mod Size(noise));  y = Reshape(values, Shape(x))

so a noise input shorter than the tensor it fills repeats (never fails), and a longer one is cut. Each new
input is named `noise:<replaced node>`, so a session over a rewritten model saved to disk lists them again
(`noise_inputs`) without the rewrite being repeated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["NoiseInput", "noise_as_inputs", "noise_inputs", "PREFIX"]

_OP = "RandomNormalLike"
PREFIX = "noise:"


@dataclass(frozen=True)
class NoiseInput:
    """A graph input that replaced one RandomNormalLike node: feed it 1-D float32 standard-normal noise."""

    name: str  # the new graph input
    node: str  # the replaced node's name (which part of the model the noise drives)


def noise_inputs(session) -> tuple[NoiseInput, ...]:
    """The noise inputs of an onnxruntime session over a rewritten model, in graph order."""
    return tuple(NoiseInput(i.name, i.name[len(PREFIX):]) for i in session.get_inputs() if i.name.startswith(PREFIX))


def noise_as_inputs(model: bytes | Path) -> tuple[bytes, tuple[NoiseInput, ...]]:
    """The model with each RandomNormalLike node replaced by a lookup into a new float input, serialised,
    and the new inputs in graph order. A model without such nodes comes back unchanged, with no inputs."""
    import onnx
    from onnx import TensorProto, helper

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model))
    graph = proto.graph
    nodes = list(graph.node)
    if not any(n.op_type == _OP and n.domain in ("", "ai.onnx") for n in nodes):
        return proto.SerializeToString(), ()
    taken = {*(i.name for i in graph.input), *(o for n in nodes for o in n.output)}
    zero, one = _unique("retake_noise_zero", taken), _unique("retake_noise_one", taken)
    graph.initializer.extend([helper.make_tensor(zero, TensorProto.INT64, [], [0]),
                              helper.make_tensor(one, TensorProto.INT64, [], [1])])
    added: list[NoiseInput] = []
    rebuilt = []
    for node in nodes:
        if node.op_type != _OP or node.domain not in ("", "ai.onnx"):
            rebuilt.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        name = _unique(f"{PREFIX}{node.name or len(added)}", taken)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"{name}_length"]))
        added.append(NoiseInput(name, node.name))
        rebuilt.extend(_lookup(helper, TensorProto, node, name, zero, one, attrs, taken))
    del graph.node[:]
    graph.node.extend(rebuilt)
    onnx.checker.check_model(proto)
    return proto.SerializeToString(), tuple(added)


def _lookup(helper, TensorProto, node, noise: str, zero: str, one: str, attrs: dict, taken: set[str]) -> list:
    """The nodes that stand in for one RandomNormalLike: same output name, values from `noise`."""
    x, (y,) = node.input[0], node.output
    t = {key: _unique(f"{noise}_{key}", taken) for key in
         ("size", "range", "available", "index", "flat", "shape", "scaled", "shifted", "reshaped")}
    out = [
        helper.make_node("Size", [x], [t["size"]]),
        helper.make_node("Range", [zero, t["size"], one], [t["range"]]),
        helper.make_node("Size", [noise], [t["available"]]),
        helper.make_node("Mod", [t["range"], t["available"]], [t["index"]]),
        helper.make_node("Gather", [noise, t["index"]], [t["flat"]], axis=0),
    ]
    values = t["flat"]
    scale, mean = float(attrs.get("scale", 1.0)), float(attrs.get("mean", 0.0))
    if scale != 1.0:
        factor = _unique(f"{noise}_scale_value", taken)
        out += [_const(helper, TensorProto, factor, scale), helper.make_node("Mul", [values, factor], [t["scaled"]])]
        values = t["scaled"]
    if mean != 0.0:
        offset = _unique(f"{noise}_mean_value", taken)
        out += [_const(helper, TensorProto, offset, mean), helper.make_node("Add", [values, offset], [t["shifted"]])]
        values = t["shifted"]
    out.append(helper.make_node("Shape", [x], [t["shape"]]))
    dtype = attrs.get("dtype")
    if dtype == TensorProto.FLOAT:
        out.append(helper.make_node("Reshape", [values, t["shape"]], [y]))
    else:  # no dtype: the input's type (CastLike, opset 15+); another dtype: cast to it
        out.append(helper.make_node("Reshape", [values, t["shape"]], [t["reshaped"]]))
        out.append(helper.make_node("CastLike", [t["reshaped"], x], [y]) if dtype is None
                   else helper.make_node("Cast", [t["reshaped"]], [y], to=int(dtype)))
    return out


def _const(helper, TensorProto, name: str, value: float):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, TensorProto.FLOAT, [], [value]))


def _unique(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name

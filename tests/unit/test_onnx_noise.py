"""RandomNormalLike nodes become graph inputs: the rewritten graph runs in onnxruntime, fills a tensor shaped
like the node's input with the caller's noise (scaled and shifted as the node said), repeats short noise, and
leaves graphs without such nodes alone."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from pipelines.speak.onnx_noise import noise_as_inputs, noise_inputs  # noqa: E402


def _model(nodes, outputs, opset: int = 15) -> bytes:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "c"])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", "c"]) for name in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _run(model: bytes, **inputs) -> list[np.ndarray]:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, inputs)


def test_noise_fills_the_tensor_scaled_shifted_and_repeated_when_short():
    model = _model([helper.make_node("RandomNormalLike", ["x"], ["r"], mean=2.0, scale=3.0, dtype=TensorProto.FLOAT),
                    helper.make_node("Add", ["x", "r"], ["y"])], ["y"])
    rewritten, inputs = noise_as_inputs(model)
    assert [i.name for i in inputs] == ["noise:0"]  # a node without a name: its position
    graph = onnx.load_from_string(rewritten).graph
    assert not [n for n in graph.node if n.op_type == "RandomNormalLike"]
    x = np.ones((2, 4), np.float32)
    noise = np.arange(8, dtype=np.float32)
    (y,) = _run(rewritten, x=x, **{"noise:0": noise})
    assert np.array_equal(y, 1.0 + 2.0 + 3.0 * noise.reshape(2, 4))
    (short,) = _run(rewritten, x=x, **{"noise:0": np.arange(3, dtype=np.float32)})
    assert np.array_equal(short.ravel(), 3.0 + 3.0 * (np.arange(8) % 3))
    (longer,) = _run(rewritten, x=np.ones((1, 3), np.float32), **{"noise:0": noise})
    assert np.array_equal(longer.ravel(), 3.0 + 3.0 * noise[:3])


def test_each_node_gets_its_own_input_in_graph_order_and_the_same_noise_gives_the_same_output():
    model = _model([helper.make_node("RandomNormalLike", ["x"], ["a"], name="first"),
                    helper.make_node("RandomNormalLike", ["a"], ["b"], name="second")], ["a", "b"])
    rewritten, inputs = noise_as_inputs(model)
    assert [(i.name, i.node) for i in inputs] == [("noise:first", "first"), ("noise:second", "second")]
    session = ort.InferenceSession(rewritten, providers=["CPUExecutionProvider"])
    assert noise_inputs(session) == inputs  # found again from a session, e.g. over a model saved to disk
    x = np.zeros((3, 2), np.float32)
    feed = {"x": x, "noise:first": np.random.default_rng(1).standard_normal(6, dtype=np.float32),
            "noise:second": np.random.default_rng(2).standard_normal(6, dtype=np.float32)}
    a, b = _run(rewritten, **feed)
    assert np.array_equal(a.ravel(), feed["noise:first"]) and np.array_equal(b.ravel(), feed["noise:second"])
    assert all(np.array_equal(p, q) for p, q in zip(_run(rewritten, **feed), (a, b)))


def test_a_graph_without_random_nodes_is_unchanged():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], ["y"])
    rewritten, inputs = noise_as_inputs(model)
    assert inputs == () and onnx.load_from_string(rewritten) == onnx.load_from_string(model)

"""Convert MediaPipe's face detector and face landmark TFLite models to ONNX.

A small converter for exactly the operators these two models use (tflite2onnx 0.4.1 crashes
on the landmark model, and tract cannot load the TFLite files: fp16 Dequantize, PRelu).

- The graph runs in NCHW: the ONNX input is [1, 3, H, W]; 4-D outputs are transposed back to
  TFLite's NHWC so they match the reference element for element.
- fp16 weights are folded to fp32 initialisers through their DEQUANTIZE ops.
- PRELU becomes relu(x) - slope * relu(-x): plain ops that tract runs about twice as fast as
  its own PRelu.

Usage: python tflite_to_onnx.py IN.tflite OUT.onnx
"""

import sys

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
OP_NAMES = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
NP_TYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
}
# NHWC axis -> NCHW axis
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


class Converter:
    def __init__(self, buf: bytes):
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("only single-subgraph models are supported")
        self.graph = self.model.Subgraphs(0)
        self.nodes = []
        self.initializers = []
        # TFLite tensor index -> ONNX value name, for activations
        self.names = {}
        # TFLite tensor index -> True when the ONNX value is a 4-D tensor in NCHW order
        self.nchw = {}
        # TFLite tensor index -> numpy constant (weights, after dequantisation)
        self.consts = {}
        self.counter = 0

    # -- helpers ---------------------------------------------------------------------------
    def tensor(self, i):
        return self.graph.Tensors(i)

    def shape(self, i):
        return [int(d) for d in self.tensor(i).ShapeAsNumpy()]

    def fresh(self, base):
        self.counter += 1
        return f"{base}__{self.counter}"

    def buffer_array(self, i):
        t = self.tensor(i)
        data = self.model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data is None or len(data) == 0:
            return None
        dtype = NP_TYPES[t.Type()]
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(self.shape(i))

    def const(self, i):
        if i in self.consts:
            return self.consts[i]
        arr = self.buffer_array(i)
        if arr is None:
            raise ValueError(f"tensor {self.tensor(i).Name()} is not constant")
        self.consts[i] = arr
        return arr

    def add_init(self, base, arr):
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attrs))

    def value(self, i):
        """ONNX name of activation tensor i."""
        return self.names[i]

    def value_nhwc(self, i):
        """ONNX name of activation tensor i in TFLite's layout (transposing back if needed)."""
        if self.nchw.get(i):
            out = self.fresh(self.tensor(i).Name().decode() + "_nhwc")
            self.node("Transpose", [self.names[i]], [out], perm=[0, 2, 3, 1])
            return out
        return self.names[i]

    def set_out(self, i, name, nchw):
        self.names[i] = name
        self.nchw[i] = nchw

    def activation(self, name, fused, out_name):
        if fused == tflite.ActivationFunctionType.NONE:
            return name
        if fused == tflite.ActivationFunctionType.RELU:
            self.node("Relu", [name], [out_name])
        elif fused == tflite.ActivationFunctionType.RELU6:
            lo = self.add_init("zero", np.array(0.0, np.float32))
            hi = self.add_init("six", np.array(6.0, np.float32))
            self.node("Clip", [name, lo, hi], [out_name])
        else:
            raise ValueError(f"fused activation {fused} not supported")
        return out_name

    @staticmethod
    def same_pads(in_size, kernel, stride, dilation):
        """TensorFlow SAME padding: the odd pixel goes at the end."""
        eff = (kernel - 1) * dilation + 1
        out = -(-in_size // stride)
        total = max((out - 1) * stride + eff - in_size, 0)
        return total // 2, total - total // 2

    def spatial_pads(self, padding, in_shape, kh, kw, sh, sw, dh=1, dw=1):
        if padding == tflite.Padding.VALID:
            return [0, 0, 0, 0]
        top, bottom = self.same_pads(in_shape[1], kh, sh, dh)
        left, right = self.same_pads(in_shape[2], kw, sw, dw)
        return [top, left, bottom, right]

    # -- operators -------------------------------------------------------------------------
    def convert(self):
        g = self.graph
        inputs = []
        for k in range(g.InputsLength()):
            i = g.Inputs(k)
            n, h, w, c = self.shape(i)
            name = self.tensor(i).Name().decode()
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, c, h, w]))
            self.set_out(i, name, True)

        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            oc = self.model.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            kind = OP_NAMES[code]
            ins = [int(j) for j in op.InputsAsNumpy()]
            outs = [int(j) for j in op.OutputsAsNumpy()]
            getattr(self, "op_" + kind.lower())(op, ins, outs)

        outputs = []
        for k in range(g.OutputsLength()):
            i = g.Outputs(k)
            tname = self.tensor(i).Name().decode()
            src = self.value_nhwc(i)
            self.node("Identity", [src], [tname])
            outputs.append(helper.make_tensor_value_info(tname, TensorProto.FLOAT, self.shape(i)))

        graph = helper.make_graph(self.nodes, "mediapipe", inputs, outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="avsync tools/models/tflite_to_onnx.py",
        )
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    def op_dequantize(self, op, ins, outs):
        self.consts[outs[0]] = self.const(ins[0]).astype(np.float32)

    def op_conv_2d(self, op, ins, outs):
        o = tflite.Conv2DOptions()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        w = self.const(ins[1])  # [O, KH, KW, I]
        b = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        w_name = self.add_init("w", w.transpose(0, 3, 1, 2))
        args = [self.value(ins[0]), w_name]
        if b is not None:
            args.append(self.add_init("b", b))
        pads = self.spatial_pads(
            o.Padding(), self.shape(ins[0]), w.shape[1], w.shape[2],
            o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
        )
        out_name = self.tensor(outs[0]).Name().decode()
        pre = self.fresh(out_name + "_conv")
        self.node(
            "Conv", args, [pre],
            kernel_shape=[w.shape[1], w.shape[2]], strides=[o.StrideH(), o.StrideW()],
            dilations=[o.DilationHFactor(), o.DilationWFactor()], pads=pads,
        )
        self.set_out(outs[0], self.activation(pre, o.FusedActivationFunction(), out_name), True)

    def op_depthwise_conv_2d(self, op, ins, outs):
        o = tflite.DepthwiseConv2DOptions()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        w = self.const(ins[1])  # [1, KH, KW, C*M]
        cin = self.shape(ins[0])[3]
        b = self.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        w_name = self.add_init("dw", w.transpose(3, 0, 1, 2))  # [C*M, 1, KH, KW]
        args = [self.value(ins[0]), w_name]
        if b is not None:
            args.append(self.add_init("b", b))
        pads = self.spatial_pads(
            o.Padding(), self.shape(ins[0]), w.shape[1], w.shape[2],
            o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
        )
        out_name = self.tensor(outs[0]).Name().decode()
        pre = self.fresh(out_name + "_dwconv")
        self.node(
            "Conv", args, [pre], group=cin,
            kernel_shape=[w.shape[1], w.shape[2]], strides=[o.StrideH(), o.StrideW()],
            dilations=[o.DilationHFactor(), o.DilationWFactor()], pads=pads,
        )
        self.set_out(outs[0], self.activation(pre, o.FusedActivationFunction(), out_name), True)

    def op_max_pool_2d(self, op, ins, outs):
        o = tflite.Pool2DOptions()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        kh, kw = o.FilterHeight(), o.FilterWidth()
        pads = self.spatial_pads(o.Padding(), self.shape(ins[0]), kh, kw, o.StrideH(), o.StrideW())
        out_name = self.tensor(outs[0]).Name().decode()
        pre = self.fresh(out_name + "_pool")
        self.node(
            "MaxPool", [self.value(ins[0])], [pre],
            kernel_shape=[kh, kw], strides=[o.StrideH(), o.StrideW()], pads=pads,
        )
        self.set_out(outs[0], self.activation(pre, o.FusedActivationFunction(), out_name), True)

    def op_add(self, op, ins, outs):
        o = tflite.AddOptions()
        tab = op.BuiltinOptions()
        fused = tflite.ActivationFunctionType.NONE
        if tab is not None:
            o.Init(tab.Bytes, tab.Pos)
            fused = o.FusedActivationFunction()
        if ins[0] not in self.names or ins[1] not in self.names:
            raise ValueError("ADD with a constant operand is not supported")
        a, b = ins
        if self.nchw.get(a) != self.nchw.get(b):
            raise ValueError("ADD of tensors in different layouts")
        out_name = self.tensor(outs[0]).Name().decode()
        pre = self.fresh(out_name + "_add")
        self.node("Add", [self.value(a), self.value(b)], [pre])
        self.set_out(outs[0], self.activation(pre, fused, out_name), self.nchw.get(a, False))

    def op_relu(self, op, ins, outs):
        out_name = self.tensor(outs[0]).Name().decode()
        self.node("Relu", [self.value(ins[0])], [out_name])
        self.set_out(outs[0], out_name, self.nchw.get(ins[0], False))

    def op_prelu(self, op, ins, outs):
        """relu(x) - slope * relu(-x), with the slope broadcast over NCHW."""
        x = self.value(ins[0])
        slope = self.const(ins[1]).astype(np.float32)
        c = slope.shape[-1]
        if self.nchw.get(ins[0]):
            if slope.size != c:
                raise ValueError("PRELU slope must be per channel")
            slope = slope.reshape(1, c, 1, 1)
        s_name = self.add_init("prelu_slope", slope)
        out_name = self.tensor(outs[0]).Name().decode()
        pos = self.fresh(out_name + "_pos")
        neg_in = self.fresh(out_name + "_negx")
        neg = self.fresh(out_name + "_neg")
        scaled = self.fresh(out_name + "_scaled")
        self.node("Relu", [x], [pos])
        self.node("Neg", [x], [neg_in])
        self.node("Relu", [neg_in], [neg])
        self.node("Mul", [neg, s_name], [scaled])
        self.node("Sub", [pos, scaled], [out_name])
        self.set_out(outs[0], out_name, self.nchw.get(ins[0], False))

    def op_pad(self, op, ins, outs):
        pads = self.const(ins[1]).astype(np.int64)  # [rank, 2], TFLite axis order
        if self.nchw.get(ins[0]):
            order = [0, 3, 1, 2]  # NCHW axis k comes from NHWC axis order[k]
            pads = pads[order]
        onnx_pads = np.concatenate([pads[:, 0], pads[:, 1]]).astype(np.int64)
        p_name = self.add_init("pads", onnx_pads)
        out_name = self.tensor(outs[0]).Name().decode()
        self.node("Pad", [self.value(ins[0]), p_name], [out_name], mode="constant")
        self.set_out(outs[0], out_name, self.nchw.get(ins[0], False))

    def op_reshape(self, op, ins, outs):
        src = self.value_nhwc(ins[0])
        shape = self.add_init("shape", np.array(self.shape(outs[0]), np.int64))
        out_name = self.tensor(outs[0]).Name().decode()
        self.node("Reshape", [src, shape], [out_name])
        self.set_out(outs[0], out_name, False)

    def op_concatenation(self, op, ins, outs):
        o = tflite.ConcatenationOptions()
        tab = op.BuiltinOptions()
        o.Init(tab.Bytes, tab.Pos)
        axis = o.Axis()
        layouts = {bool(self.nchw.get(i)) for i in ins}
        if len(layouts) != 1:
            raise ValueError("CONCATENATION of tensors in different layouts")
        nchw = layouts.pop()
        rank = len(self.shape(outs[0]))
        if axis < 0:
            axis += rank
        if nchw:
            axis = NHWC_TO_NCHW_AXIS[axis]
        out_name = self.tensor(outs[0]).Name().decode()
        pre = self.fresh(out_name + "_concat")
        self.node("Concat", [self.value(i) for i in ins], [pre], axis=axis)
        self.set_out(outs[0], self.activation(pre, o.FusedActivationFunction(), out_name), nchw)


def convert(tflite_path, onnx_path):
    with open(tflite_path, "rb") as f:
        model = Converter(f.read()).convert()
    onnx.save(model, onnx_path)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(sys.argv[1], sys.argv[2])

"""ulde.export: checkpoint -> checked ONNX and fully-int8 TFLite, with manifest and parity report."""

# Copyright 2026 The Arlow Authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""
Project stand-in for upstream's `tests/exporters/test_export.py`, which the transformers sdist does not ship.

`ExportTesterMixin` is a base of `ModelTesterMixin`, so every model test class runs these checks: each class of
`all_model_classes` is captured with `torch.export.export` on the model tester's inputs, and the exported program must
give the eager model's outputs, on those inputs and, with the sequence length left dynamic, on a shorter sequence.
As upstream's, the export test is `@slow` (it runs with `RUN_SLOW=1`). A test class opts out with upstream's flag
`test_torch_exportable = False` (say why in a comment).
"""

import copy
import inspect

import pytest
from parameterized import parameterized

from transformers import is_torch_available, set_seed
from transformers.testing_utils import require_torch, slow, torch_device


if is_torch_available():
    import torch
    from torch.utils._pytree import tree_flatten


# Exported and eager programs run the same kernels in float32; they may only differ by operation reordering.
OUTPUT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


@require_torch
class ExportTesterMixin:
    """`torch.export` checks for every class of `all_model_classes` (see the module docstring)."""

    test_torch_exportable = True

    def _export_cases(self):
        """(model class, model, keyword inputs) for every model class, or a skip saying why there is none."""
        if not self.test_torch_exportable:
            self.skipTest(reason=f"{self.__class__.__name__} sets `test_torch_exportable = False`")
        if not self.all_model_classes:
            self.skipTest(reason=f"{self.__class__.__name__} has no model class")
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            inputs = inputs_dict
            if hasattr(self, "_prepare_for_class"):
                inputs = self._prepare_for_class(inputs_dict, model_class)
            set_seed(0)
            model = model_class(copy.deepcopy(config)).to(torch_device).eval()
            inputs = {key: value for key, value in inputs.items() if value is not None}
            # The cache is an output of its own, exported elsewhere; here the graph returns plain tensors.
            if "use_cache" in inspect.signature(model.forward).parameters:
                inputs["use_cache"] = False
            yield model_class, model, inputs

    def _assert_same_outputs(self, exported_outputs, eager_outputs, message):
        exported_leaves, exported_spec = tree_flatten(exported_outputs)
        eager_leaves, eager_spec = tree_flatten(eager_outputs)
        self.assertEqual(str(exported_spec), str(eager_spec), f"{message}: the output structures differ")
        tensors = [(got, want) for got, want in zip(exported_leaves, eager_leaves) if isinstance(want, torch.Tensor)]
        self.assertGreater(len(tensors), 0, f"{message}: the model returned no tensor")
        for got, want in tensors:
            torch.testing.assert_close(got, want, **OUTPUT_TOLERANCE, msg=lambda m: f"{message}: {m}")

    @parameterized.expand(
        [(False,), (True,)], name_func=lambda f, _, p: f"{f.__name__}_{'dynamic' if p.args[0] else 'static'}"
    )
    @slow
    @pytest.mark.torch_export_test
    def test_torch_export(self, dynamic):
        """
        The exported program of each model class gives the eager outputs on the model tester's inputs. With `dynamic`,
        the sequence length is exported as a dynamic dimension and a shorter sequence must match eager too (upstream
        exports with dynamic shapes; the shorter sequence is the stand-in's proof that the dimension is dynamic).
        """
        checked = []
        for model_class, model, inputs in self._export_cases():
            if not dynamic:
                with torch.no_grad():
                    eager_outputs = model(**inputs)
                    program = torch.export.export(model, args=(), kwargs=inputs, strict=False)
                    exported_outputs = program.module()(**inputs)
                self._assert_same_outputs(exported_outputs, eager_outputs, f"{model_class.__name__} exported")
                checked.append(model_class)
                continue
            if not isinstance(inputs.get("input_ids"), torch.Tensor) or inputs["input_ids"].shape[1] < 3:
                continue
            # Every input laid out along the token axis of `input_ids` (masks, token labels) gets the dynamic length;
            # the others (for instance encoder states of their own length) keep their shapes.
            length = inputs["input_ids"].shape[1]
            sequence_inputs = {
                key
                for key, value in inputs.items()
                if isinstance(value, torch.Tensor) and value.ndim >= 2 and value.shape[1] == length
            }
            sequence = torch.export.Dim("sequence_length", min=2, max=max(length, 16))
            dynamic_shapes = {key: ({1: sequence} if key in sequence_inputs else None) for key in inputs}
            # Drop the first token, not the last: the tester's random attention masks always keep their last position.
            shorter = {key: value[:, 1:] if key in sequence_inputs else value for key, value in inputs.items()}
            with torch.no_grad():
                program = torch.export.export(
                    model, args=(), kwargs=inputs, dynamic_shapes=dynamic_shapes, strict=False
                )
                for name, case in (("full", inputs), ("shorter", shorter)):
                    self._assert_same_outputs(
                        program.module()(**case), model(**case), f"{model_class.__name__} exported, {name} sequence"
                    )
            checked.append(model_class)
        if not checked:
            self.skipTest(
                reason="no model class takes `input_ids` of 3 or more tokens, the axis a dynamic export varies"
            )

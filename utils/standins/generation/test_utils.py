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
"""Root conftest of the integrated tree (project tooling, not part of the upstream patch)."""

"""Project stand-in for upstream's `tests/generation/test_utils.py` (absent from the sdist). Work in progress."""


class GenerationTesterMixin:
    """Generation checks for every class in `all_generative_model_classes` (being written)."""

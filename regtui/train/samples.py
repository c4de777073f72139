"""Sample test images with their predictions, carried by run_finished for the monitor's grid."""

from __future__ import annotations

import base64

import torch
from torch import Tensor

from regtui.train.data import Split

SAMPLE_IMAGES = 12  # test images kept with their predictions in run_finished


def sample_images(split: Split, predictions: Tensor) -> dict:
    """Test images spread over the split, with the best model's predictions for them
    (taken from the test evaluation, not a forward pass of their own).

    Returns {"shape": [C, H, W], "pixels": [base64 of uint8 C*H*W bytes per image],
    "labels": [int], "predictions": [int]}."""
    count = min(SAMPLE_IMAGES, len(split))
    index = torch.arange(count, device=split.images.device) * (len(split) // count)
    images = split.images[index].cpu()
    return {"shape": list(images.shape[1:]),
            "pixels": [base64.b64encode(image.numpy().tobytes()).decode() for image in images],
            "labels": split.labels[index].tolist(), "predictions": predictions[index].tolist()}

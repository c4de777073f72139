"""An Accelerate training script on MNIST IDX files, written as a regtui run by RegtuiTracker.

    python examples/accelerate_script.py MNIST_DIR --epochs 3
    accelerate launch examples/accelerate_script.py ...   # several processes: rank 0 writes

regtui needs `log_with=RegtuiTracker(...)`, `init_trackers` with the config, and
`accelerator.log`: a dict with an `epoch` key is an epoch's metrics, anything else a step's.
Needs Accelerate: pip install 'regtui[accelerate]'.
"""

from __future__ import annotations

import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mnist_idx import example_arguments, load
from plain_loop import build
from regtui.integrations.accelerate import RegtuiTracker


def main(argv: list[str] | None = None) -> None:
    parser = example_arguments(__doc__.splitlines()[0], epochs=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    (train_x, train_y), (val_x, val_y), classes = load(args.data_dir, args.limit)
    tracker = RegtuiTracker("mnist-accelerate", num_classes=classes, epochs=args.epochs,
                            runs_dir=args.runs_dir, dataset="mnist-idx")
    accelerator = Accelerator(log_with=tracker)
    accelerator.init_trackers("mnist", config=vars(args))
    model = build(64, 0.2, classes)
    model(train_x[:1])  # materialise the lazy layer
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    train = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(val_x, val_y), batch_size=512)
    model, optimizer, train, val = accelerator.prepare(model, optimizer, train, val)
    loss_fn = nn.CrossEntropyLoss()

    step = 0
    for epoch in range(args.epochs):  # Accelerate's examples count epochs from 0
        model.train()
        total, count = torch.zeros((), device=accelerator.device), 0
        for images, labels in train:
            loss = loss_fn(model(images), labels)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            accelerator.log({"train_loss": loss.detach()}, step=step)
            total += loss.detach() * len(labels)
            count += len(labels)
        model.eval()
        correct, seen, val_total = 0, 0, 0.0
        with torch.no_grad():
            for images, labels in val:
                logits = model(images)
                logits, labels = accelerator.gather_for_metrics((logits, labels))
                val_total += loss_fn(logits, labels).item() * len(labels)
                correct += (logits.argmax(1) == labels).sum().item()
                seen += len(labels)
        accelerator.log({"train_loss": (total / count).item(), "eval_loss": val_total / seen,
                         "eval_accuracy": correct / seen, "epoch": epoch}, step=step)
    accelerator.end_training()
    accelerator.print(f"run {tracker.tracker.run_id}: val acc {correct / seen:.3f}")


if __name__ == "__main__":
    main()

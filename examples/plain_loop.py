"""A plain PyTorch loop on MNIST IDX files, written as a regtui run: two lines of regtui.

    python examples/plain_loop.py MNIST_DIR --epochs 5
    regtui watch            # from another terminal: live curves and alerts
    regtui runs             # afterwards: the run listed with regtui's own

The shared folder holds MNIST's 10,000 test images; they are split 80/20 here. A small
CNN trains in well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import torch
from torch import nn

import regtui
from mnist_idx import example_arguments, load


def build(hidden: int, dropout: float, classes: int) -> nn.Module:
    # Strided convolutions keep it cheap on a CPU: 28x28 -> 12x12 -> 5x5.
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, stride=2), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Dropout(dropout), nn.LazyLinear(hidden), nn.ReLU(),
        nn.Linear(hidden, classes))


def main(argv: list[str] | None = None) -> None:
    parser = example_arguments(__doc__.splitlines()[0], epochs=5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.2)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    (train_x, train_y), (val_x, val_y), classes = load(args.data_dir, args.limit)
    model = build(64, args.dropout, classes)
    model(train_x[:1])  # materialise the lazy layer before counting parameters
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    with regtui.init(name="mnist-cnn", config=vars(args), num_classes=classes,
                     epochs=args.epochs, model=model, dataset="mnist-idx",
                     runs_dir=args.runs_dir) as run:
        step = 0
        for epoch in range(1, args.epochs + 1):
            model.train()
            total_loss = torch.zeros(()); correct = torch.zeros((), dtype=torch.long)
            order = torch.randperm(len(train_y))
            for start in range(0, len(order), args.batch_size):
                batch = order[start:start + args.batch_size]
                logits = model(train_x[batch])
                loss = loss_fn(logits, train_y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                run.log({"train/loss": loss, "lr": args.lr}, step=step)  # throttled
                total_loss += loss.detach() * len(batch)
                correct += (logits.argmax(1) == train_y[batch]).sum()
            model.eval()
            with torch.no_grad():
                logits = model(val_x)
                val_loss = loss_fn(logits, val_y)
                val_acc = (logits.argmax(1) == val_y).float().mean()
            run.log({"train/loss": total_loss / len(order), "train/acc": correct / len(order),
                     "val/loss": val_loss, "val/acc": val_acc}, epoch=epoch)
            if run.stop_requested:  # `s` in a watching regtui
                break
        print(f"run {run.run_id}: val acc {val_acc.item():.3f} after {epoch} epochs")


if __name__ == "__main__":
    main()

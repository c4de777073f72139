"""A LightningModule on MNIST IDX files, written as a regtui run by RegtuiLogger.

    python examples/lightning_module.py MNIST_DIR --epochs 3
    regtui watch            # from another terminal

Everything regtui needs is the logger: `Trainer(logger=RegtuiLogger(num_classes=10))`.
Lightning's epoch metrics (`on_epoch=True`, and the validation of each epoch) become
regtui epochs; `s` in a watching regtui stops the fit cleanly (trainer.should_stop).
Needs Lightning: pip install 'regtui[lightning]'.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mnist_idx import example_arguments, load
from plain_loop import build
from regtui.integrations.lightning import RegtuiLogger


class Classifier(pl.LightningModule):
    def __init__(self, classes: int = 10, lr: float = 1e-3, dropout: float = 0.2) -> None:
        super().__init__()
        self.save_hyperparameters()  # what RegtuiLogger records as the run's config
        self.net = build(64, dropout, classes)
        self.loss = nn.CrossEntropyLoss()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        images, labels = batch
        logits = self.net(images)
        loss = self.loss(logits, labels)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        self.log("train_acc", (logits.argmax(1) == labels).float().mean(), on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        images, labels = batch
        logits = self.net(images)
        self.log("val_loss", self.loss(logits, labels))
        self.log("val_acc", (logits.argmax(1) == labels).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main(argv: list[str] | None = None) -> None:
    parser = example_arguments(__doc__.splitlines()[0], epochs=3)
    args = parser.parse_args(argv)

    pl.seed_everything(0, verbose=False)
    (train_x, train_y), (val_x, val_y), classes = load(args.data_dir, args.limit)
    model = Classifier(classes)
    model.net(train_x[:1])  # materialise the lazy layer
    train = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(val_x, val_y), batch_size=512)
    logger = RegtuiLogger(name="mnist-lightning", num_classes=classes, runs_dir=args.runs_dir,
                          dataset="mnist-idx")
    trainer = pl.Trainer(max_epochs=args.epochs, logger=logger, accelerator="auto",
                         devices=1, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, log_every_n_steps=10)
    trainer.fit(model, train, val)
    print(f"run {logger.version}: val acc {trainer.callback_metrics['val_acc']:.3f}")


if __name__ == "__main__":
    main()

"""Samplers and the DataLoader's sampler/batch_sampler/num_workers options, against
torch.utils.data's documented behaviour."""

import numpy as np
import pytest

import autograd_core as ag
from nn.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
)


def _dataset(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


class Squares(Dataset):
    """A map-style dataset without __getitems__ (fetched sample by sample)."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return np.float32(i * i), i


class Noisy(Dataset):
    """Each sample draws from the global generator (as augmentation does)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return np.float32(ag.get_generator().standard_normal()), i


def test_sequential_and_random_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    sampler = RandomSampler(range(10), generator=np.random.default_rng(0))
    order = list(sampler)
    assert sorted(order) == list(range(10)) and len(sampler) == 10
    again = list(RandomSampler(range(10), generator=np.random.default_rng(0)))
    assert order == again


def test_random_sampler_replacement_and_num_samples():
    sampler = RandomSampler(range(3), replacement=True, num_samples=20,
                            generator=np.random.default_rng(1))
    draws = list(sampler)
    assert len(draws) == len(sampler) == 20 and set(draws) <= {0, 1, 2}
    chained = list(RandomSampler(range(4), num_samples=10, generator=np.random.default_rng(2)))
    assert len(chained) == 10 and sorted(chained[:4]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def test_random_sampler_uses_the_global_seed_by_default():
    ag.manual_seed(5)
    a = list(RandomSampler(range(8)))
    ag.manual_seed(5)
    assert list(RandomSampler(range(8))) == a


def test_subset_random_sampler():
    out = list(SubsetRandomSampler([3, 5, 7], generator=np.random.default_rng(0)))
    assert sorted(out) == [3, 5, 7]


def test_weighted_random_sampler():
    sampler = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000,
                                    generator=np.random.default_rng(0))
    draws = np.array(list(sampler))
    assert len(sampler) == 4000 and 0 not in draws
    assert 2.6 < (draws == 2).sum() / (draws == 1).sum() < 3.4
    unique = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False,
                                        generator=np.random.default_rng(0)))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], num_samples=0)
    with pytest.raises(ValueError, match="weights"):
        WeightedRandomSampler([-1.0, 1.0], num_samples=1)
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)


def test_batch_sampler_as_documented():
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)) \
        == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)) \
        == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4
    assert len(BatchSampler(range(10), 3, True)) == 3
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)


def test_dataloader_with_sampler_and_batch_sampler():
    data = _dataset()
    loader = DataLoader(data, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert [y.tolist() for _, y in loader] == [[9, 8, 7, 6], [5]]
    loader = DataLoader(data, batch_sampler=[[0, 2], [4, 6, 8]])
    assert [y.tolist() for _, y in loader] == [[0, 2], [4, 6, 8]] and len(loader) == 2
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(data, batch_size=2, batch_sampler=[[0]])


def test_batch_size_none_yields_samples():
    samples = list(DataLoader(Squares(), batch_size=None))
    assert len(samples) == 11 and samples[3] == (9.0, 3)


def test_shuffle_uses_the_generator():
    data = _dataset(20)
    a = [y.tolist() for _, y in DataLoader(data, 5, shuffle=True,
                                           generator=np.random.default_rng(3))]
    b = [y.tolist() for _, y in DataLoader(data, 5, shuffle=True,
                                           generator=np.random.default_rng(3))]
    assert a == b and sorted(sum(a, [])) == list(range(20))


def test_pin_memory_is_accepted_and_options_are_checked():
    assert len(list(DataLoader(_dataset(), 4, pin_memory=True))) == 3
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(_dataset(), num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(_dataset(), prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(_dataset(), persistent_workers=True)


def _record_worker(worker_id):
    assert get_worker_info().id == worker_id


def test_workers_preserve_order_and_match_the_main_process():
    for dataset in (_dataset(23), Squares()):
        plain = [[t.tolist() for t in batch] for batch in DataLoader(dataset, batch_size=4)]
        loader = DataLoader(dataset, batch_size=4, num_workers=2,
                            worker_init_fn=_record_worker)
        parallel = [[t.tolist() for t in batch] for batch in loader]
        assert parallel == plain
    assert get_worker_info() is None


def test_workers_are_seeded_per_batch_and_persistent_workers_reuse_the_pool():
    def epoch(loader):
        return [x.tolist() for x, _ in loader]

    ag.manual_seed(0)
    loader = DataLoader(Noisy(), batch_size=3, num_workers=2, persistent_workers=True)
    first, second = epoch(loader), epoch(loader)
    pool = loader._pool
    assert pool is not None and first != second  # a new base seed each epoch
    ag.manual_seed(0)
    other = DataLoader(Noisy(), batch_size=3, num_workers=2)
    assert epoch(other) == first  # reproducible from the main seed, whatever the scheduling
    assert loader._pool is pool


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True),
                                                    (12, 4, False), (5, 2, False),
                                                    (2, 4, False)])
def test_distributed_sampler_partitions_exactly(n, replicas, drop_last):
    data = range(n)
    shares = []
    for rank in range(replicas):
        sampler = DistributedSampler(data, num_replicas=replicas, rank=rank, seed=7,
                                     drop_last=drop_last)
        sampler.set_epoch(3)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler)
    sizes = {len(s) for s in shares}
    assert len(sizes) == 1  # every rank runs the same number of steps
    combined = sum(shares, [])
    if drop_last:
        assert len(combined) == (n // replicas) * replicas
        assert len(set(combined)) == len(combined)  # disjoint, nothing repeated
    else:
        assert set(combined) == set(range(n))  # everything covered
        assert len(combined) == -(-n // replicas) * replicas  # padded by repetition only
        if n % replicas == 0:
            assert sorted(combined) == list(range(n))  # exactly once


def test_distributed_sampler_epochs_and_shuffle():
    sampler = DistributedSampler(range(8), num_replicas=2, rank=0, shuffle=True, seed=1)
    first = list(sampler)
    assert list(sampler) == first  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != first
    plain = DistributedSampler(range(8), num_replicas=2, rank=1, shuffle=False)
    assert list(plain) == [1, 3, 5, 7]
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(8), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(8))


def test_distributed_sampler_in_a_dataloader_gives_the_global_batches():
    data = _dataset(16)
    batches = [[], []]
    for rank in range(2):
        sampler = DistributedSampler(data, num_replicas=2, rank=rank, seed=0)
        batches[rank] = [y.tolist() for _, y in DataLoader(data, batch_size=4,
                                                           sampler=sampler)]
    single = DistributedSampler(data, num_replicas=1, rank=0, seed=0)
    whole = [y.tolist() for _, y in DataLoader(data, batch_size=8, sampler=single)]
    for step, global_batch in enumerate(whole):
        assert sorted(batches[0][step] + batches[1][step]) == sorted(global_batch)


class Broken(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 4:
            raise IndexError(f"sample {i} is damaged")
        return np.float32(i), i


def test_an_error_in_a_worker_reaches_the_main_process():
    with pytest.raises(IndexError, match="sample 4 is damaged"):
        list(DataLoader(Broken(), batch_size=2, num_workers=2))

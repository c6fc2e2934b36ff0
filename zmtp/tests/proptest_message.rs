//! `Message` against a plain model (a deque of frames) over random sequences of pushes at both
//! ends, pops from the front and clones: the inline form (up to three frames, moved slot by
//! slot) and the heap form must behave alike.

use std::collections::VecDeque;

use bytes::Bytes;
use proptest::prelude::*;
use zmtp::Message;

#[derive(Debug, Clone)]
enum Op {
    PushFront(u8),
    PushBack(u8),
    PopFront,
    Clone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::PushFront),
        any::<u8>().prop_map(Op::PushBack),
        Just(Op::PopFront),
        Just(Op::Clone),
    ]
}

proptest! {
    #[test]
    fn frames_follow_a_deque(ops in proptest::collection::vec(op(), 0..40)) {
        let mut m = Message::new();
        let mut model: VecDeque<Bytes> = VecDeque::new();
        for op in ops {
            match op {
                Op::PushFront(b) => {
                    let f = Bytes::from(vec![b; usize::from(b % 4)]);
                    m.push_front(f.clone());
                    model.push_front(f);
                }
                Op::PushBack(b) => {
                    let f = Bytes::from(vec![b; usize::from(b % 4)]);
                    m.push_back(f.clone());
                    model.push_back(f);
                }
                Op::PopFront => prop_assert_eq!(m.pop_front(), model.pop_front()),
                Op::Clone => {
                    let c = m.clone();
                    prop_assert_eq!(c.frames(), m.frames());
                    m = c;
                }
            }
            let want: Vec<Bytes> = model.iter().cloned().collect();
            prop_assert_eq!(m.frames(), &want[..]);
            prop_assert_eq!(m.len(), model.len());
        }
    }
}

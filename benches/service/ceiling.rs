//! The ceiling: a bare tonic server whose GetTrip handler does nothing but return a canned
//! `Trip` (a copy of a real GetTrip response, so the same size). It runs in its own process
//! (this bench binary started with `ceiling`), with the same tokio runtime as `briefing serve`,
//! so both servers get the same share of the machine from the same load generator.

use std::net::SocketAddr;
use std::path::Path;

use briefing::api::pb;
use briefing::api::pb::trip_service_server::{TripService, TripServiceServer};
use prost::Message as _;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

struct Canned {
    trip: pb::Trip,
}

#[tonic::async_trait]
impl TripService for Canned {
    async fn get_trip(
        &self,
        _request: Request<pb::GetTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        Ok(Response::new(self.trip.clone()))
    }
    async fn list_trips(
        &self,
        _request: Request<pb::ListTripsRequest>,
    ) -> Result<Response<pb::ListTripsResponse>, Status> {
        Err(Status::unimplemented("ceiling"))
    }
    async fn create_trip(
        &self,
        _request: Request<pb::CreateTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        Err(Status::unimplemented("ceiling"))
    }
    async fn update_trip(
        &self,
        _request: Request<pb::UpdateTripRequest>,
    ) -> Result<Response<pb::Trip>, Status> {
        Err(Status::unimplemented("ceiling"))
    }
    async fn delete_trip(
        &self,
        _request: Request<pb::DeleteTripRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("ceiling"))
    }
}

/// Serves the canned trip in `canned` (an encoded `pb::Trip`) on `listen` until killed; prints
/// `listening on PORT` once bound.
pub fn run(listen: SocketAddr, canned: &Path) -> anyhow::Result<()> {
    let trip = pb::Trip::decode(std::fs::read(canned)?.as_slice())?;
    // The same runtime `#[tokio::main]` gives `briefing serve`: one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(listen).await?;
            println!("listening on {}", listener.local_addr()?.port());
            // TCP_NODELAY as `Server::serve` sets it (serve_with_incoming ignores tcp_nodelay).
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            tonic::transport::Server::builder()
                .add_service(TripServiceServer::new(Canned { trip }))
                .serve_with_incoming(incoming)
                .await?;
            anyhow::Ok(())
        })
}
